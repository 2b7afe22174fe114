"""Hostile text in every field people type into (issue 7), through the real forms, API and import, as
the people allowed to type it; then every page, HTML fragment, e-mail, JSON document and export that
shows it: the text reads as typed, never as markup, SQL, a template or a format string, and a
spreadsheet never takes it for a formula.

The table FIELDS says, for each field, how to type a value in and where it shows (`field_case`
below, a generator: it yields what the app answered, then each page, e-mail, JSON document or export
showing the value; `Later` pages list every entry and are fetched once after all the payloads).
Every payload of tests/security/payloads.py goes into every field (the "+", "-" and "@" formula
starters only into the fields that reach a spreadsheet): a value the field accepts is stored verbatim
and checked everywhere it shows; a value it refuses (too long, too short, not a URL, a NUL character,
a line break in a one-line vocabulary rule) gets a French message, comes back in the form where the
form comes back, and changes nothing. One test per group of fields, each over one shared `world`.
To add a field: write its case in its group, with where it shows."""
from __future__ import annotations

import csv
import dataclasses
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Callable, Iterator

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from tests.conftest import PASSWORD, listing_form
from tests.security.payloads import (
    BY_KEY,
    FORMULA_STARTS,
    PAYLOADS,
    Payload,
    double_escaped,
    markup_problems,
    one_line,
    parse,
    shows_as_text,
    text_problems,
)

# --- what a field case yields -----------------------------------------------------------------------


@dataclass
class Submitted:
    """The answer to typing the value in. `stored()` reads the field back from the database (None for
    text that is only shown back, like a search). `refusal`: how the app refuses a value it does not
    accept: "form" (the form again, the value kept, the error beside the field) or "flash" (back to
    the page with a message)."""

    response: object
    stored: Callable[[], object] | None
    client: object = None
    refusal: str = "form"
    api: bool = False
    echo: bool = True  # a refused value comes back in the form (an imported file's lines do not)
    nul_status: int | None = None  # the status for a NUL character when not the guard's 400 (an uploaded file)

    @property
    def accepted(self) -> bool:
        return self.response.status_code in ((200, 201) if self.api else (302, 303))


@dataclass
class Seen:
    """One place the value shows: an HTML page or fragment, an e-mail, a JSON document, an export."""

    where: str
    kind: str  # html, email, json, csv, xlsx, text
    body: object
    exact: bool = True  # False: the place may shorten the text (then only the safety checks apply)
    key: str | None = None  # json: the field holding the value


@dataclass
class Later:
    """A page listing every entry of the field (an index, a board, a queue, an export): fetched once after
    all the payloads are in, and checked for each. Only for fields where each payload makes a new entry."""

    where: str
    fetch: Callable[[], object]  # a Seen or a list of them
    exact: bool = True


def later_page(where: str, client, url: str, exact: bool = True, **kwargs) -> Later:
    return Later(where, lambda: page(where, client.get(url, **kwargs)), exact)


@dataclass
class Field:
    name: str
    group: str  # fields are tested a group at a time, over one shared world
    enter: Callable[..., Iterator]
    max_len: int
    min_len: int = 0
    accepts: Callable[[str], bool] | None = None
    spreadsheet: bool = False  # the field reaches a CSV/XLSX export or comes from an imported sheet

    @property
    def payloads(self) -> list[Payload]:
        return [p for p in PAYLOADS if self.spreadsheet or not p.spreadsheets_only]

    def takes(self, value: str) -> bool:
        if "\x00" in value:
            return False
        if self.accepts is not None and not self.accepts(value):
            return False
        return self.min_len <= len(value.strip()) <= self.max_len


FIELDS: dict[str, Field] = {}
READY = object()  # yielded by a case before it types the value, when it first prepares something


def field_case(name: str, max_len: int, min_len: int = 0, accepts=None, spreadsheet=False):
    def register(enter):
        FIELDS[name] = Field(name, SECTION, enter, max_len, min_len, accepts, spreadsheet)
        return enter

    return register


# --- the people and their browsers -------------------------------------------------------------------


class Env:
    def __init__(self, app, world, smtp, runner):
        self.app, self.world, self.smtp, self.runner = app, world, smtp, runner
        self._clients: dict[str, object] = {}
        self._tokens: dict[str, dict] = {}
        self.counter = 0
        self.cache: dict[str, object] = {}  # what a case prepares once for all its payloads

    def __getitem__(self, key):
        return self.world[key]

    def client(self, key: str | None):
        """A browser logged in as world[key] (None: anonymous), kept for the test."""
        if key not in self._clients:
            self._clients[key] = self.app.test_client() if key is None else self.as_user(self.world[key])
        return self._clients[key]

    def as_user(self, user):
        """A browser with `user`'s session. Not through the log-in form: argon2 takes ~0.3 s per log-in and
        these tests open ~100 sessions; the log-in itself is tested in tests/accounts."""
        client = self.app.test_client()
        client.csrf_token()  # the anonymous log-in page gives the session its CSRF secret
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return client

    def token(self, key: str) -> dict:
        if key not in self._tokens:
            result = self.runner.invoke(args=["users", "token", self.world[key].email])
            assert result.exit_code == 0, result.output
            self._tokens[key] = {"Authorization": f"Bearer {result.output.strip()}"}
        return self._tokens[key]

    def unique(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def mails_to(self, address: str) -> list:
        return self.smtp.to(address)


@pytest.fixture
def env(app, world, smtp, runner):
    app.config["NOTIFY_DAILY_CAP"] = 100_000  # every payload e-mails the same people: no digest fallback
    return Env(app, world, smtp, runner)


# --- helpers for the cases ------------------------------------------------------------------------------


def newest(model, *where):
    db.session.expire_all()
    return db.session.scalars(sa.select(model).where(*where).order_by(model.id.desc()).limit(1)).first()


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def page(where: str, response, exact: bool = True) -> Seen:
    assert response.status_code == 200, (where, response.status_code, response.get_data(as_text=True)[:300])
    return Seen(where, "html", response.get_data(as_text=True), exact)


def emails(where: str, messages: list, exact: bool = True) -> list[Seen]:
    assert messages, f"{where}: no e-mail received"
    return [Seen(where, "email", message, exact) for message in messages]


def api(where: str, response, key: str) -> Seen:
    assert response.status_code == 200, (where, response.status_code, response.get_json())
    assert response.mimetype == "application/json"
    return Seen(where, "json", response.get_json(), key=key)


def dig(document, path: str):
    for part in path.split("."):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


# --- the checks -------------------------------------------------------------------------------------------


ENGLISH = re.compile(r"\b(field|must|characters|invalid|required|this)\b", re.I)


def check_html(where: str, html: str, payload: Payload, exact: bool) -> list[str]:
    parsed = parse(html)
    problems = [f"{where}: {p}" for p in markup_problems(html, parsed)]
    if exact and not shows_as_text(parsed, payload.text):
        problems.append(f"{where}: the text is not shown as typed")
    entities = [e for e in double_escaped(parsed) if e not in payload.text]
    if entities:
        problems.append(f"{where}: escaped twice ({', '.join(entities)} shown to the reader)")
    return problems


def check_seen(seen: Seen, payload: Payload) -> list[str]:
    if seen.kind == "html":
        return check_html(seen.where, seen.body, payload, seen.exact)
    if seen.kind == "email":
        message = seen.body
        problems = []
        html_part = message.get_body(preferencelist=("html",))
        text_part = message.get_body(preferencelist=("plain",))
        assert html_part is not None and text_part is not None, f"{seen.where}: an e-mail is a text + HTML pair"
        problems += check_html(f"{seen.where} (HTML part)", html_part.get_content(), payload, seen.exact)
        if seen.exact:
            problems += [f"{seen.where} (text part): {p}" for p in text_problems(text_part.get_content(), payload)]
        subject = str(message["Subject"])
        if "&lt;" in subject or "&#" in subject:
            problems.append(f"{seen.where}: HTML entities in the subject {subject!r}")
        return problems
    if seen.kind == "json":
        value = dig(seen.body, seen.key)
        return [] if value == payload.text else [f"{seen.where}: JSON {seen.key} = {str(value)[:80]!r}"]
    if seen.kind == "csv":
        return check_csv_cells(seen.where, seen.body, payload)
    if seen.kind == "xlsx":
        return check_xlsx_cells(seen.where, seen.body, payload)
    raise AssertionError(seen.kind)


def check_csv_cells(where: str, cells: list[str], payload: Payload) -> list[str]:
    expected = "'" + payload.text if payload.text.startswith(FORMULA_STARTS) else payload.text
    if expected in cells:
        return []
    return [f"{where}: cell not {expected[:60]!r} (formula starters must be prefixed with ')"]


def check_xlsx_cells(where: str, cells: list, payload: Payload) -> list[str]:
    for cell in cells:
        if isinstance(cell.value, str) and one_line(cell.value) == one_line(payload.text):  # XML keeps no CR
            if cell.data_type != "s":
                return [f"{where}: the text is stored as {cell.data_type!r}, not as a string"]
            if payload.text.startswith(FORMULA_STARTS) and not cell.quotePrefix:
                return [f"{where}: formula-like text without Excel's quote prefix"]
            return []
    return [f"{where}: the text is not in any cell"]


def row_counts() -> tuple[int, ...]:
    """How many rows each table holds, in one query."""
    db.session.expire_all()
    return tuple(db.session.execute(sa.select(*[sa.select(sa.func.count()).select_from(table).scalar_subquery()
                                                for table in db.metadata.sorted_tables])).one())


def read_stored(submitted: Submitted):
    """The field as the database holds it; None when the row was not even created."""
    db.session.expire_all()
    try:
        return submitted.stored()
    except AttributeError:
        return None


def check_refused(submitted: Submitted, payload: Payload, before: tuple) -> list[str]:
    problems = []
    response = submitted.response
    if "\x00" in payload.text:
        wanted = submitted.nul_status or (422 if submitted.api else 400)
        if response.status_code != wanted:
            problems.append(f"a NUL character gives {response.status_code}, not {wanted}")
        elif not submitted.api and not submitted.nul_status:
            body = response.get_data(as_text=True)
            if "caractère nul" not in body:
                problems.append("the 400 page does not say a NUL character was refused")
    elif submitted.api:
        if response.status_code != 422:
            problems.append(f"refused with {response.status_code}, not 422")
        else:
            error = response.get_json()["error"]
            if not error.get("fields") or ENGLISH.search(" ".join(map(str, error["fields"].values()))):
                problems.append(f"API error not in French: {error}")
    elif submitted.refusal == "form":
        if response.status_code not in (200, 422):
            problems.append(f"refused with {response.status_code}: the form does not come back")
        else:
            html = response.get_data(as_text=True)
            problems += check_html("the form sent back", html, payload, exact=submitted.echo)
            errors = re.findall(r'<(?:p|li) class="error"[^>]*>(.*?)</(?:p|li)>', html, re.S)
            if not errors:
                problems.append("no error message beside the field")
            elif any(ENGLISH.search(e) for e in errors):
                problems.append(f"error message not in French: {errors}")
    else:  # flash
        if response.status_code not in (302, 303):
            problems.append(f"refused with {response.status_code}")
        else:
            html = submitted.client.get(response.location).get_data(as_text=True)
            problems += [f"page after refusal: {p}" for p in markup_problems(html)]
            flashes = re.findall(r'<p class="flash error"[^>]*>(.*?)</p>', html, re.S)
            if not flashes:
                problems.append("no error message after the refusal")
            elif any(ENGLISH.search(f) for f in flashes):
                problems.append(f"error message not in French: {flashes}")
    if submitted.stored is not None and read_stored(submitted) == payload.text:
        problems.append("the refused text was stored")
    if row_counts() != before:
        problems.append("a refused value changed the database")
    return problems


def run_case(case: Field, env: Env, payload: Payload, later: dict) -> list[str]:
    env.smtp.clear()
    db.session.rollback()
    refused = not case.takes(payload.text)
    before = row_counts() if refused else None
    steps = case.enter(env, payload.text)
    submitted = next(steps)
    if submitted is READY:  # the case prepared what the field belongs to: count from here
        before = row_counts() if refused else None
        submitted = next(steps)
    if refused:
        steps.close()
        return check_refused(submitted, payload, before)
    if not submitted.accepted:
        steps.close()
        body = (submitted.response.get_json() if submitted.api else
                re.findall(r'class="(?:error|flash error)"[^>]*>(.*?)<', submitted.response.get_data(as_text=True)))
        return [f"refused ({submitted.response.status_code}): {str(body)[:300]}"]
    problems = []
    if submitted.stored is not None:
        stored = read_stored(submitted)
        if stored != payload.text:
            problems.append(f"stored as {str(stored)[:80]!r}")
    for seen in steps:
        for one in (seen if isinstance(seen, list) else [seen]):
            if isinstance(one, Later):
                later.setdefault(one.where, (one.fetch, []))[1].append((payload, one.exact))
            else:
                problems += check_seen(one, payload)
    return problems


def run_later(later: dict) -> list[str]:
    """The pages that list every entry, fetched once after all the payloads, checked for each."""
    problems = []
    for fetch, expected in later.values():
        got = fetch()
        for payload, exact in expected:
            for seen in (got if isinstance(got, list) else [got]):
                seen = dataclasses.replace(seen, exact=exact and seen.exact)
                problems += [f"{payload.key}: {p}" for p in check_seen(seen, payload)]
    return problems


# === the fields ===========================================================================================
# Each case types `value` in as its owner would, yields Submitted, then yields what shows it.

# --- accounts -------------------------------------------------------------------------------------------
SECTION = "accounts"


def _profile(env, name, phone):
    return env.client("alice").post("/compte/profil", data={"full_name": name, "phone": phone, "locale": "fr"})


@field_case("user.full_name (profile)", max_len=120, min_len=1)
def user_full_name(env, value):
    from marketplace.accounts.models import User
    from marketplace.conversations.services import reply

    alice = env["alice"]
    yield Submitted(_profile(env, value, ""), lambda: fresh(User, alice.id).full_name)
    client = env.client("alice")
    yield page("profile (and the header)", client.get("/compte/profil"))
    yield page("company page, members", client.get(f"/entreprises/{env['a'].id}"))
    reply(env["bob"], env["conversation"], "Toujours disponible ?")
    db.session.commit()
    yield emails("message e-mail to Alice (greeting)", env.mails_to(alice.email))
    reply(alice, env["conversation"], "Oui.")
    db.session.commit()
    yield page("conversation, author", env.client("bob").get(f"/messages/{env['conversation'].id}"))
    yield emails("message e-mail from Alice", env.mails_to(env["bob"].email))


@field_case("user.phone", max_len=40)
def user_phone(env, value):
    from marketplace.accounts.models import User

    alice = env["alice"]
    yield Submitted(_profile(env, "Alice", value), lambda: fresh(User, alice.id).phone)
    yield page("profile", env.client("alice").get("/compte/profil"))


@field_case("user.full_name (sign-up)", max_len=120, min_len=1)
def signup_full_name(env, value):
    from marketplace.accounts.models import User

    address = env.unique("inscription") + "@example.fr"
    response = env.app.test_client().post("/compte/inscription", data={
        "full_name": value, "email": address, "password": PASSWORD, "password_again": PASSWORD,
        "accept_terms": "y"})
    yield Submitted(response, lambda: db.session.scalar(sa.select(User.full_name).where(User.email == address)))
    yield emails("confirmation e-mail", env.mails_to(address))


# --- companies and sites ------------------------------------------------------------------------------------
SECTION = "companies and sites"


def _company_form(company, **overrides) -> dict:
    data = {"name": company.name, "siret": "", "naf_code": "", "description": "", "contact_name": "",
            "contact_email": "", "contact_phone": "", "website": "", "handled_waste_codes": ""}
    data.update(overrides)
    return data


@field_case("company.name (new company)", max_len=160, min_len=1)
def new_company_name(env, value):
    from marketplace.accounts.models import Company, User
    from marketplace.accounts.services import create_user

    founder = create_user(env.unique("fondateur") + "@example.fr", PASSWORD, "Fondatrice", confirmed=True)
    db.session.commit()
    client = env.as_user(founder)
    yield READY
    response = client.post("/entreprises/nouvelle", data={
        "name": value, "site_name": "Siège", "address": "", "postcode": "29900", "city": "Concarneau",
        "siret": "", "naf_code": "", "description": "", "contact_name": "", "contact_email": "",
        "contact_phone": "", "website": "", "handled_waste_codes": ""})
    founder_id = founder.id
    yield Submitted(response, lambda: db.session.scalar(
        sa.select(Company.name).join(User, User.company_id == Company.id).where(User.id == founder_id)))
    company = fresh(User, founder_id).company
    yield page("after creation (flash)", client.get(response.location))
    yield page("company page", client.get(f"/entreprises/{company.id}"))
    practitioner = env.client("practitioner")
    yield page("company page (practitioner)", practitioner.get(f"/entreprises/{company.id}"))
    yield later_page("moderation queue", practitioner, "/animation/moderation")
    yield later_page("notifications (practitioner)", practitioner, "/notifications")
    yield emails("company to review e-mail", env.mails_to(env["practitioner"].email))


def _edit_company(env, **overrides):
    from marketplace.accounts.models import Company

    company = env["a"]
    response = env.client("alice").post(f"/entreprises/{company.id}/modifier", data=_company_form(company, **overrides))
    return response, company.id, Company


def _company_field_case(column, max_len, accepts=None, extra_pages=()):
    def enter(env, value):
        response, company_id, Company = _edit_company(env, **{column: value})
        yield Submitted(response, lambda: getattr(fresh(Company, company_id), column))
        yield page("company page", env.client("bob").get(f"/entreprises/{company_id}"))
        yield page("edit form", env.client("alice").get(f"/entreprises/{company_id}/modifier"))
        for where, url, who in extra_pages:
            yield page(where, env.client(who).get(url(env)), exact=True)

    field_case(f"company.{column}", max_len=max_len, accepts=accepts)(enter)


_company_field_case("name", 160, extra_pages=[
    ("listing page", lambda env: f"/annonces/{env['a_published'].id}", "bob"),
    ("listing index", lambda env: "/annonces", None),
    ("search results", lambda env: "/recherche?q=palettes", None),
    ("inbox", lambda env: "/messages", "bob"),
    ("moderation queue", lambda env: "/animation/moderation", "practitioner"),
])
_company_field_case("description", 4000)
_company_field_case("contact_name", 120)
_company_field_case("contact_phone", 40)
_company_field_case("website", 255, accepts=lambda v: v.startswith(("http://", "https://")))


@field_case("company.handled_waste_codes", max_len=4000, accepts=lambda v: False)
def company_waste_codes(env, value):
    """Free text checked against the European list: every payload is refused, and the refusal names it."""
    response, company_id, Company = _edit_company(env, is_solution_provider="y", handled_waste_codes=value)
    yield Submitted(response, lambda: fresh(Company, company_id).handled_waste_codes)


def _site_case(column, max_len, min_len=0):
    def enter(env, value):
        from marketplace.accounts.models import Site

        company, site = env["a"], env["a"].sites[0]
        data = {"name": site.name, "address": site.address or "", "postcode": site.postcode, "city": site.city or ""}
        data[column] = value
        response = env.client("alice").post(f"/entreprises/{company.id}/sites/{site.id}/modifier", data=data)
        site_id = site.id
        yield Submitted(response, lambda: getattr(fresh(Site, site_id), column))
        yield page("company page", env.client("bob").get(f"/entreprises/{company.id}"))
        yield page("site form", env.client("alice").get(f"/entreprises/{company.id}/sites/{site_id}/modifier"))
        listing = env["a_published"]
        yield page("listing page", env.client("bob").get(f"/annonces/{listing.id}"), exact=column != "address")
        yield page("new listing form (site choice)", env.client("alice").get("/annonces/nouvelle"),
                   exact=column == "name")
        yield page("listing index", env.client(None).get("/annonces"), exact=column == "city")

    field_case(f"site.{column}", max_len=max_len, min_len=min_len)(enter)


_site_case("name", 120, min_len=1)
_site_case("address", 255)
_site_case("city", 120)


@field_case("site.name (added site)", max_len=120, min_len=1)
def added_site_name(env, value):
    from marketplace.accounts.models import Site

    company = env["a"]
    response = env.client("alice").post(f"/entreprises/{company.id}/sites/nouveau", data={
        "name": value, "address": "", "postcode": "29000", "city": "Quimper"})
    yield Submitted(response, lambda: newest(Site, Site.company_id == company.id).name)
    yield page("company page", env.client("alice").get(f"/entreprises/{company.id}"))


# --- listings --------------------------------------------------------------------------------------------
SECTION = "listings"


def _new_listing(env, **overrides):
    from marketplace.listings.models import Listing

    company = env["a"]
    response = env.client("alice").post("/annonces/nouvelle", data=listing_form(company.sites[0].id, **overrides))
    return response, Listing


def _listing_case(column, max_len, min_len=0, accepts=None):
    def enter(env, value):
        from marketplace.listings import services
        from marketplace.listings.models import Listing

        response, _ = _new_listing(env, **{column: value})
        yield Submitted(response, lambda: getattr(newest(Listing), column))
        listing = newest(Listing)
        assert listing.status == "pending"
        alice, bob, practitioner = env.client("alice"), env.client("bob"), env.client("practitioner")
        title = column == "title"
        yield page("edit form", alice.get(f"/annonces/{listing.id}/modifier"))
        yield page("moderation queue", practitioner.get("/animation/moderation"), exact=title)
        yield page("moderation page", practitioner.get(f"/animation/moderation/annonces/{listing.id}"))
        yield emails("listing to approve e-mail", env.mails_to(env["practitioner"].email), exact=title)
        yield api("API listing", env.client(None).get(f"/api/v1/listings/{listing.id}", headers=env.token("alice")),
                  column)
        services.approve(env["practitioner"], listing)
        db.session.commit()
        yield page("listing page (public)", env.client(None).get(f"/annonces/{listing.id}"))
        # Searching for the text itself: it comes back highlighted, word by word (when it has words).
        from marketplace.search.analysis import analyze

        yield page("search for the text", bob.get("/recherche", query_string={"q": value}),
                   exact=bool(analyze(value)))
        yield emails("listing approved e-mail", env.mails_to(env["alice"].email), exact=title)
        yield emails("match e-mail (Bob needs brewers' grains)", env.mails_to(env["bob"].email), exact=title)
        yield later_page("my listings", alice, "/mes-annonces", exact=title)
        yield later_page("notifications (practitioner)", practitioner, "/notifications", exact=title)
        yield later_page("listing index", bob, "/annonces", exact=title)
        yield later_page("company page", bob, f"/entreprises/{env['a'].id}", exact=title)
        # Words of the title found: the title highlighted (<mark>), the description as the extract.
        yield later_page("search results", bob, "/recherche?q=Drêches")

    field_case(f"listing.{column}", max_len=max_len, min_len=min_len, accepts=accepts)(enter)


_listing_case("title", 160, min_len=3)
_listing_case("description", 8000)


@field_case("listing.title (dormant, relaunched)", max_len=160, min_len=3)
def listing_title_relaunched(env, value):
    """A dormant listing: the practitioners' list, the relaunch e-mail and the page its link opens."""
    from marketplace.listings.models import Listing
    from marketplace.models_base import utcnow

    listing = _published_offer(env)
    data = listing_form(listing.site_id, title=value, submit_for="save")
    yield READY
    response = env.client("alice").post(f"/annonces/{listing.id}/modifier", data=data)
    yield Submitted(response, lambda: fresh(Listing, listing.id).title)
    listing = fresh(Listing, listing.id)
    listing.last_activity_at = listing.published_at = utcnow() - timedelta(days=200)  # asleep for months
    listing.last_viewed_at = None
    db.session.commit()
    practitioner = env.client("practitioner")
    yield page("dormant listings", practitioner.get("/animation/dormantes"))
    response = practitioner.post("/animation/dormantes/relancer", data={"listing_ids": [str(listing.id)]})
    assert response.status_code == 302
    mails = env.mails_to(env["alice"].email)
    yield emails("relaunch e-mail", mails)
    link = re.search(r"/relance/[^\s\"<>]+", mails[0].get_body(preferencelist=("plain",)).get_content())
    yield page("relaunch answer page (no log-in)", env.app.test_client().get(link[0]))


@field_case("listing.waste_code", max_len=12, accepts=lambda v: False)
def listing_waste_code(env, value):
    """Checked against the European list: every payload is refused, shown back in the form."""
    response, Listing = _new_listing(env, waste_code=value)
    yield Submitted(response, lambda: newest(Listing).waste_code)


@field_case("listing.title (edit)", max_len=160, min_len=3)
def listing_title_edit(env, value):
    from marketplace.listings.models import Listing

    listing = env["a_draft"]
    data = listing_form(listing.site_id, title=value, submit_for="save")
    response = env.client("alice").post(f"/annonces/{listing.id}/modifier", data=data)
    yield Submitted(response, lambda: fresh(Listing, listing.id).title)
    yield page("listing page", env.client("alice").get(f"/annonces/{listing.id}"))


@field_case("listing index words (q)", max_len=10**6)  # a search is never refused, only shortened
def browse_words(env, value):
    """Words on the listing index go to the search page (a redirect that carries them)."""
    response = env.client(None).get("/annonces", query_string={"q": value}, follow_redirects=True)
    yield Submitted(_ok_get(response), None)
    yield page("listing index → search", response)
    yield page("listing index → search (member)", env.client("bob").get(
        "/annonces", query_string={"q": value, "category": "materials"}, follow_redirects=True))


@field_case("search words (q)", max_len=10**6)
def search_words(env, value):
    response = env.client("bob").get("/recherche", query_string={"q": value})
    yield Submitted(_ok_get(response), None)
    yield page("search page", response)


class _ok_get:
    """A GET shown back: accepted when the page answers 200 (a NUL character gives 400)."""

    def __init__(self, response):
        self.response = response

    @property
    def status_code(self):
        return 302 if self.response.status_code == 200 else self.response.status_code

    def get_data(self, as_text=False):
        return self.response.get_data(as_text=as_text)


# --- conversations ------------------------------------------------------------------------------------
SECTION = "conversations and moderation"


@field_case("conversation first message", max_len=5000, min_len=2)
def respond_message(env, value):
    from marketplace.conversations.models import Message

    listing = env["a_published"]
    carol = env.client("carol")
    response = carol.post(f"/annonces/{listing.id}/repondre", data={"quantity": "", "message": value})
    yield Submitted(response, lambda: newest(Message).body)
    message = newest(Message)
    yield emails("message e-mail", env.mails_to(env["alice"].email))
    yield later_page("conversation (responder)", carol, f"/messages/{message.conversation_id}")
    yield later_page("conversation (owner)", env.client("alice"), f"/messages/{message.conversation_id}")
    yield later_page("notifications (owner)", env.client("alice"), "/notifications", exact=False)


@field_case("conversation reply", max_len=5000, min_len=1)
def reply_message(env, value):
    from marketplace.conversations.models import Message

    conversation = env["conversation"]
    alice = env.client("alice")
    response = alice.post(f"/messages/{conversation.id}", data={"body": value})
    yield Submitted(response, lambda: newest(Message).body)
    yield emails("message e-mail", env.mails_to(env["bob"].email))
    yield later_page("conversation (other side)", env.client("bob"), f"/messages/{conversation.id}")
    yield later_page("inbox", env.client("bob"), "/messages", exact=False)


# --- moderation ---------------------------------------------------------------------------------------------


def _pending_listing(env, title="Coproduits à valider"):
    from marketplace.listings import services

    listing = services.create(env["alice"], env["a"], env["a"].sites[0], {
        "kind": "offer", "title": title, "description": "", "category": "materials", "waste_code": None,
        "quantity": Decimal("1"), "unit": "t", "frequency": "once", "price_mode": "free", "unit_price_eur": None,
        "available_from": None, "available_until": None, "expires_on": None})
    services.submit(env["alice"], listing)
    db.session.commit()
    env.smtp.clear()
    return listing


def _reason_pages(env, listing):
    alice = env.client("alice")
    yield page("listing page (owner)", alice.get(f"/annonces/{listing.id}"))
    yield emails("decision e-mail", env.mails_to(env["alice"].email))
    yield later_page("my listings", alice, "/mes-annonces", exact=False)
    yield later_page("notifications", alice, "/notifications", exact=False)


@field_case("listing.rejection_reason (request changes)", max_len=2000, min_len=5)
def request_changes_reason(env, value):
    from marketplace.listings.models import Listing

    listing = _pending_listing(env)
    practitioner = env.client("practitioner")
    yield READY
    response = practitioner.post(f"/annonces/{listing.id}/rejeter", data={"reason": value})
    yield Submitted(response, lambda: fresh(Listing, listing.id).rejection_reason, client=practitioner,
                    refusal="flash")
    yield from _reason_pages(env, listing)
    yield page("edit form", env.client("alice").get(f"/annonces/{listing.id}/modifier"))


@field_case("listing.rejection_reason (refuse for good)", max_len=2000, min_len=5)
def refuse_reason(env, value):
    from marketplace.listings.models import Listing

    listing = _pending_listing(env)
    practitioner = env.client("practitioner")
    yield READY
    response = practitioner.post(f"/animation/moderation/annonces/{listing.id}/decision",
                                 data={"action": "reject", "reason": value, "back": "listing"})
    yield Submitted(response, lambda: fresh(Listing, listing.id).rejection_reason, client=practitioner,
                    refusal="flash")
    yield from _reason_pages(env, listing)
    yield page("listing page (practitioner, history)", practitioner.get(f"/annonces/{listing.id}"))


@field_case("company.review_note", max_len=2000, min_len=5)
def company_review_note(env, value):
    from marketplace.accounts.models import Company
    from marketplace.accounts.services import create_user
    from marketplace.companies.services import create_company

    member = create_user(env.unique("membre") + "@example.fr", PASSWORD, "Membre", confirmed=True)
    company = create_company(member, {"name": env.unique("Fonderie ")}, {"name": "Siège", "postcode": "29900",
                                                                          "city": "Concarneau"})
    db.session.commit()
    env.smtp.clear()
    practitioner = env.client("practitioner")
    yield READY
    response = practitioner.post(f"/animation/moderation/entreprises/{company.id}/decision",
                                 data={"action": "request_changes", "reason": value, "back": "company"})
    company_id = company.id
    yield Submitted(response, lambda: fresh(Company, company_id).review_note, client=practitioner, refusal="flash")
    yield page("company page (member)", env.as_user(member).get(f"/entreprises/{company_id}"))
    yield later_page("moderation queue", practitioner, "/animation/moderation", exact=False)
    yield emails("review e-mail", env.mails_to(member.email))



# --- auctions ----------------------------------------------------------------------------------------------
SECTION = "auctions"


def _session_data(**overrides) -> dict:
    from marketplace.models_base import utcnow

    data = {"title": "Enchères de ressources", "mode": "live", "starts_at": utcnow() + timedelta(hours=1),
            "place": "CCI, Quimper", "is_online": False, "description": ""}
    data.update(overrides)
    return data


def _open_room(env, listing, session=None):
    """A live room of t1 with Bob's company invited and checked in, `listing` as its lot, presented."""
    from marketplace.auctions import services as auctions

    practitioner = env["practitioner"]
    session = session or auctions.create_session(practitioner, env["t1"], _session_data())
    auctions.invite(practitioner, session, [env["b"]])
    lot = auctions.put_up(env["alice"], session, listing, {"quantity": Decimal("10"), "allow_partial": True,
                                                           "min_take": Decimal("1")})
    db.session.commit()
    auctions.check_in(practitioner, session.id, env["b"].id, True)
    auctions.open_session(practitioner, session.id)
    db.session.commit()
    auctions.present(practitioner, lot.id)
    db.session.commit()
    return session, lot


def room_pages(env, session, lot, exact=True, lot_text=True) -> Iterator[Seen]:
    """The live room's pages and the fragments they poll. `lot_text`: the text belongs to the lot on
    screen (the fragments show it), not to the session (only the pages around them do)."""
    bob, practitioner = env.client("bob"), env.client("practitioner")
    yield page("room (phone)", bob.get(f"/encheres/{session.id}/salle"), exact)
    yield page("room state (htmx)", bob.get(f"/encheres/{session.id}/salle/etat"), exact and lot_text)
    yield page("room form (htmx)", bob.get(f"/encheres/{session.id}/salle/formulaire"), exact=False)
    yield page("projector", practitioner.get(f"/encheres/{session.id}/projection"), exact)
    yield page("projector state (htmx)", practitioner.get(f"/encheres/{session.id}/projection/etat"),
               exact and lot_text)
    yield page("control desk", practitioner.get(f"/encheres/{session.id}/regie"), exact)
    yield page("lot page", bob.get(f"/encheres/lots/{lot.id}"), exact and lot_text)


def _published_offer(env, title="Palettes pour la salle", through_moderation=False):
    """An offer of Alice's, published. Straight to "published" as the factories do (no matching, no
    index: nothing here searches for it), or `through_moderation` (submitted and approved: its
    matching and alerts run)."""
    from marketplace.listings import services

    listing = services.create(env["alice"], env["a"], env["a"].sites[0], {
        "kind": "offer", "title": title, "description": "", "category": "materials", "waste_code": None,
        "quantity": Decimal("10"), "unit": "t", "frequency": "once", "price_mode": "free", "unit_price_eur": None,
        "available_from": None, "available_until": None, "expires_on": None})
    if through_moderation:
        if services.submit(env["alice"], listing) == "pending":
            services.approve(env["practitioner"], listing)
    else:
        listing.status, listing.published_at = "published", listing.last_activity_at
    db.session.commit()
    return listing


@field_case("listing.title (in an auction room)", max_len=160, min_len=3)
def listing_title_in_room(env, value):
    """The lot on screen: its title on the phones, the projector and the control desk (htmx fragments)."""
    from marketplace.listings import services
    from marketplace.listings.models import Listing

    listing = env["a_published"]
    data = listing_form(listing.site_id, title=value, submit_for="save")
    response = env.client("alice").post(f"/annonces/{listing.id}/modifier", data=data)
    yield Submitted(response, lambda: fresh(Listing, listing.id).title)
    listing = fresh(Listing, listing.id)
    if listing.status == "pending":
        services.approve(env["practitioner"], listing)
        db.session.commit()
    session, lot = _open_room(env, listing)
    yield from room_pages(env, session, lot)
    yield api("API lot", env.client(None).get(f"/api/v1/lots/{lot.id}", headers=env.token("bob")), "listing.title")


def _session_form(env, **overrides) -> dict:
    data = {"title": "Enchères de printemps", "territory_id": str(env["t1"].id), "mode": "live",
            "starts_at": "2031-04-02T09:00", "closes_at": "", "place": "CCI, Quimper", "is_online": "",
            "description": ""}
    data.update(overrides)
    return data


def _auction_session_case(column, max_len, min_len=0):
    def enter(env, value):
        from marketplace.auctions import services as auctions
        from marketplace.auctions.models import AuctionSession

        practitioner = env.client("practitioner")
        response = practitioner.post("/encheres/nouvelle", data=_session_form(env, **{column: value}))
        yield Submitted(response, lambda: getattr(newest(AuctionSession), column))
        session = newest(AuctionSession)
        yield page("session page", practitioner.get(f"/encheres/{session.id}"))
        yield page("edit form", practitioner.get(f"/encheres/{session.id}/modifier"))
        yield later_page("sessions (practitioner)", practitioner, "/encheres", exact=column == "title")
        listing = _published_offer(env)
        env.smtp.clear()
        session, lot = _open_room(env, listing, session)
        yield emails("invitation e-mail", env.mails_to(env["bob"].email), exact=column in ("title", "place"))
        yield page("session page (bidder)", env.client("bob").get(f"/encheres/{session.id}"))
        yield later_page("sessions (bidder)", env.client("bob"), "/encheres", exact=column == "title")
        yield later_page("notifications (bidder)", env.client("bob"), "/notifications", exact=column == "title")
        if column == "title":  # the room's pages show the session's title, not its place or description
            yield from room_pages(env, session, lot, lot_text=False)
        yield api("API session", env.client(None).get(f"/api/v1/auctions/{session.id}", headers=env.token("bob")),
                  column)

    field_case(f"auction_session.{column}", max_len=max_len, min_len=min_len)(enter)


_auction_session_case("title", 160, min_len=3)
_auction_session_case("place", 255, min_len=1)
_auction_session_case("description", 8000)


@field_case("lot.note", max_len=4000)
def lot_note(env, value):
    from marketplace.auctions import services as auctions
    from marketplace.auctions.models import Lot

    session = auctions.create_session(env["practitioner"], env["t1"], _session_data())
    auctions.invite(env["practitioner"], session, [env["b"]])
    listing = _published_offer(env)
    alice = env.client("alice")
    yield READY
    response = alice.post(f"/encheres/{session.id}/lots/nouveau", data={
        "listing_id": str(listing.id), "quantity": "10", "allow_partial": "y", "min_take": "1",
        "reserve_unit_price_eur": "", "pickup_from": "", "pickup_until": "", "note": value})
    yield Submitted(response, lambda: newest(Lot, Lot.listing_id == listing.id).note)
    lot = newest(Lot, Lot.listing_id == listing.id)
    yield page("lot page (giver)", alice.get(f"/encheres/lots/{lot.id}"))
    yield page("session page (practitioner)", env.client("practitioner").get(f"/encheres/{session.id}"),
               exact=False)
    yield api("API lot (giver)", env.client(None).get(f"/api/v1/lots/{lot.id}", headers=env.token("alice")), "note")


def _room_with_lot(env):
    """A new lot on screen in the test's live room (opened once, Bob's company checked in): a published
    offer of Alice's, put up and presented; the lot before it, if still open, is closed first."""
    from marketplace.auctions import services as auctions
    from marketplace.auctions.models import Lot

    practitioner = env["practitioner"]
    session = env.cache.get("room")
    if session is None:
        session = auctions.create_session(practitioner, env["t1"], _session_data())
        auctions.invite(practitioner, session, [env["b"]])
        db.session.commit()
        auctions.check_in(practitioner, session.id, env["b"].id, True)
        auctions.open_session(practitioner, session.id)
        db.session.commit()
        env.cache["room"] = session
    elif session.current_lot_id and db.session.get(Lot, session.current_lot_id).status == "open":
        auctions.close_lot(practitioner, session.current_lot_id)
        db.session.commit()
    listing = _published_offer(env)
    lot = auctions.put_up(env["alice"], session, listing, {"quantity": Decimal("10"), "allow_partial": True,
                                                           "min_take": Decimal("1")})
    db.session.commit()
    auctions.present(practitioner, lot.id)
    db.session.commit()
    return session, lot


@field_case("bid.message", max_len=2000)
def bid_message(env, value):
    from marketplace.auctions.models import Bid

    session, lot = _room_with_lot(env)
    bob = env.client("bob")
    yield READY
    response = bob.post(f"/encheres/lots/{lot.id}/encherir", data={
        "unit_price_eur": "5", "quantity": "2", "message": value, "client_key": env.unique("k")})
    yield Submitted(response, lambda: newest(Bid, Bid.lot_id == lot.id).message if newest(Bid, Bid.lot_id == lot.id)
                    else None, client=bob, refusal="flash")
    yield page("lot page (bidder)", bob.get(f"/encheres/lots/{lot.id}"), exact=False)
    from marketplace.auctions import services as auctions

    auctions.close_lot(env["practitioner"], lot.id)  # the giver reads the messages of the shares to decide
    db.session.commit()
    yield page("lot page (giver, shares to decide)", env.client("alice").get(f"/encheres/lots/{lot.id}"))
    yield page("control desk", env.client("practitioner").get(f"/encheres/{session.id}/regie"), exact=False)
    yield api("API bids (giver)", env.client(None).get(f"/api/v1/lots/{lot.id}/bids", headers=env.token("alice")),
              "items.0.message")


@field_case("bid retraction note", max_len=500)
def bid_retraction_note(env, value):
    from marketplace.auctions import services as auctions
    from marketplace.auctions.models import Bid, LotEvent

    session, lot = _room_with_lot(env)
    bid, _created = auctions.place_bid(env["bob"], lot.id, Decimal("5"), Decimal("2"))
    db.session.commit()
    bob = env.client("bob")
    yield READY
    response = bob.post(f"/encheres/offres/{bid.id}/retrait", data={"reason": "typo", "note": value})

    def stored():
        event = newest(LotEvent, LotEvent.lot_id == lot.id, LotEvent.action == "bid_retracted")
        return (event.detail or {}).get("note") if event else None

    yield Submitted(response, stored, client=bob, refusal="flash")
    assert fresh(Bid, bid.id).status == "retracted"
    yield page("lot history (practitioner)", env.client("practitioner").get(f"/encheres/lots/{lot.id}/historique"))


@field_case("award decline reason", max_len=500)
def award_decline_reason(env, value):
    from marketplace.auctions import services as auctions
    from marketplace.auctions.models import Award

    session, lot = _room_with_lot(env)
    auctions.place_bid(env["bob"], lot.id, Decimal("5"), Decimal("2"))
    db.session.commit()
    auctions.close_lot(env["practitioner"], lot.id)
    db.session.commit()
    award = newest(Award, Award.lot_id == lot.id)
    env.smtp.clear()
    alice = env.client("alice")
    yield READY
    response = alice.post(f"/encheres/attributions/{award.id}", data={"decision": "decline", "reason": value})
    yield Submitted(response, lambda: fresh(Award, award.id).decline_reason, client=alice, refusal="flash")
    yield page("lot page (bidder)", env.client("bob").get(f"/encheres/lots/{lot.id}"), exact=False)
    yield page("notifications (bidder)", env.client("bob").get("/notifications"))
    yield emails("award declined e-mail", env.mails_to(env["bob"].email))
    yield api("API lot (bidder)", env.client(None).get(f"/api/v1/lots/{lot.id}", headers=env.token("bob")),
              "awards.0.decline_reason")


# --- synergies ------------------------------------------------------------------------------------------
SECTION = "synergies"


def _synergy_form(env, **overrides) -> dict:
    data = {"title": "Drêches pour l'élevage", "territory_id": str(env["t1"].id), "giver_id": str(env["a"].id),
            "taker_id": str(env["b"].id), "stage": "discussion", "kind": "ME", "sub_type": "", "is_continuous": "",
            "quantity": "", "unit": "", "next_action": "", "next_action_due": "", "notes": "", "listing_id": ""}
    data.update(overrides)
    return data


def _export_cells(env) -> tuple[list[str], list]:
    from openpyxl import load_workbook

    practitioner = env.client("practitioner")
    response = practitioner.get("/animation/rapports/export.csv")
    assert response.status_code == 200, response.status_code
    text = response.get_data().decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row]
    response = practitioner.get("/animation/rapports/export.xlsx")
    assert response.status_code == 200, response.status_code
    workbook = load_workbook(io.BytesIO(response.get_data()))
    xlsx = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    return cells, xlsx


def exports(env) -> list[Seen]:
    cells, xlsx = _export_cells(env)
    return [Seen("report CSV export", "csv", cells), Seen("report XLSX export", "xlsx", xlsx)]


def _in_the_reports_case(name, edit, stored):
    """A name typed elsewhere that the reports show with each synergy (giver, taker, territory): the
    synergy page, the board, the dashboard and the CSV and XLSX exports, where a formula starter is
    neutralised."""

    def enter(env, value):
        synergy = env.cache.get("synergy") or env.cache.setdefault("synergy", _synergy(env))
        yield READY
        yield Submitted(edit(env, value), lambda: stored(env))
        practitioner = env.client("practitioner")
        yield page("synergy page", practitioner.get(f"/synergies/{synergy.id}"))
        yield page("board", practitioner.get("/synergies/tableau"))
        yield page("reports dashboard", practitioner.get("/animation/rapports"))
        yield exports(env)

    field_case(name, max_len=160 if "company" in name else 120, min_len=1, spreadsheet=True)(enter)


def _edit_territory_name(env, value):
    territory = env["t1"]
    return env.client("admin").post(f"/territoires/{territory.id}/modifier", data={
        "name": value, "kind": "postcodes", "postcodes": "29900 29000 29910", "departements": "",
        "center_postcode": "", "radius_km": "", "dormant_after_days": "60", "description": ""})


def _territory_name(env):
    from marketplace.accounts.models import Territory

    return fresh(Territory, env["t1"].id).name


def _company_name(env):
    from marketplace.accounts.models import Company

    return fresh(Company, env["a"].id).name


_in_the_reports_case("company.name (reports and exports)", lambda env, value: _edit_company(env, name=value)[0],
                     _company_name)
_in_the_reports_case("territory.name (reports and exports)", _edit_territory_name, _territory_name)


def _synergy_case(column, max_len, min_len=0):
    def enter(env, value):
        from marketplace.synergies.models import Synergy

        practitioner = env.client("practitioner")
        due = (date.today() - timedelta(days=1)).isoformat()
        overrides = {column: value}
        if column == "next_action":
            overrides["next_action_due"] = due
        response = practitioner.post("/synergies/nouvelle", data=_synergy_form(env, **overrides))
        yield Submitted(response, lambda: getattr(newest(Synergy), column))
        synergy = newest(Synergy)
        yield page("synergy page", practitioner.get(f"/synergies/{synergy.id}"))
        yield page("synergy page (company)", env.client("alice").get(f"/synergies/{synergy.id}"))
        yield page("edit form", practitioner.get(f"/synergies/{synergy.id}/modifier"), exact=column != "next_action")
        yield later_page("synergies", practitioner, "/synergies", exact=column == "title")
        yield later_page("board", practitioner, "/synergies/tableau", exact=column in ("title", "next_action"))
        yield later_page("reports dashboard", practitioner, "/animation/rapports", exact=False)
        if column != "notes":  # the API leaves the practitioners' notes out
            yield api("API synergy", env.client(None).get(f"/api/v1/synergies/{synergy.id}",
                                                          headers=env.token("practitioner")), column)
        if column == "title":
            yield Later("report exports", lambda: exports(env))
        if column in ("title", "next_action"):
            synergy.next_action_due = date.today() - timedelta(days=1)
            db.session.commit()
            result = env.runner.invoke(args=["synergies", "remind"])
            assert result.exit_code == 0, result.output
            yield emails("reminder e-mail", env.mails_to(env["practitioner"].email))

    field_case(f"synergy.{column}", max_len=max_len, min_len=min_len, spreadsheet=column == "title")(enter)


_synergy_case("title", 200, min_len=3)
_synergy_case("notes", 8000)
_synergy_case("next_action", 255)


def _synergy(env, title="Drêches pour l'élevage"):
    from marketplace.synergies import services

    synergy = services.create_manual(env["practitioner"], env["t1"], {
        "title": title, "kind": "ME", "sub_type": "substitution", "giver": env["b"], "taker": env["a"],
        "stage": "discussion", "is_continuous": True})
    db.session.commit()
    return synergy


@field_case("synergy next action (its own form)", max_len=255)
def synergy_next_action_form(env, value):
    from marketplace.synergies.models import Synergy

    synergy = _synergy(env)
    practitioner = env.client("practitioner")
    yield READY
    response = practitioner.post(f"/synergies/{synergy.id}/prochaine-action",
                                 data={"next_action": value, "next_action_due": ""})
    yield Submitted(response, lambda: fresh(Synergy, synergy.id).next_action, client=practitioner, refusal="flash")
    yield page("synergy page", practitioner.get(f"/synergies/{synergy.id}"))
    yield page("board", practitioner.get("/synergies/tableau"))


@field_case("synergy stop note", max_len=500)
def synergy_stop_note(env, value):
    from marketplace.synergies.models import Synergy

    synergy = _synergy(env)
    practitioner = env.client("practitioner")
    yield READY
    response = practitioner.post(f"/synergies/{synergy.id}/etape",
                                 data={"stage": "blocked", "reason": "other", "note": value})
    yield Submitted(response, lambda: fresh(Synergy, synergy.id).stop_note, client=practitioner, refusal="flash")
    yield page("synergy page", practitioner.get(f"/synergies/{synergy.id}"))
    yield api("API synergy", env.client(None).get(f"/api/v1/synergies/{synergy.id}",
                                                  headers=env.token("practitioner")), "stop_note")


@field_case("synergy benefits note", max_len=4000)
def benefits_note(env, value):
    from marketplace.synergies.models import SynergyBenefit

    synergy = _synergy(env)
    alice = env.client("alice")
    yield READY
    response = alice.post(f"/synergies/{synergy.id}/benefices/declares", data={
        "tonnes_reused": "3", "emission_factor": "", "co2e_basis": "", "note": value})
    yield Submitted(response, lambda: newest(SynergyBenefit, SynergyBenefit.synergy_id == synergy.id).note
                    if newest(SynergyBenefit, SynergyBenefit.synergy_id == synergy.id) else None)
    yield page("synergy page", env.client("practitioner").get(f"/synergies/{synergy.id}"))
    yield page("benefits form", alice.get(f"/synergies/{synergy.id}/benefices/declares"))


def _factor_case(column, max_len):
    def enter(env, value):
        from marketplace.synergies import services
        from marketplace.synergies.models import EmissionFactor

        key = env.unique("facteur_test_")
        data = {"key": key, "label": "Ferraille", "kg_co2e_per_unit": "1500", "unit": "t",
                "source": "Base Empreinte", "is_active": "y"}
        data[column] = value
        admin = env.client("admin")
        response = admin.post("/synergies/facteurs-emission", data=data)
        yield Submitted(response, lambda: getattr(newest(EmissionFactor, EmissionFactor.key == key), column))
        factor = newest(EmissionFactor, EmissionFactor.key == key)
        practitioner = env.client("practitioner")
        synergy = _synergy(env)
        services.verify_benefits(env["practitioner"], synergy, {"tonnes_reused": Decimal("2")}, factor=factor,
                                 basis="tonnes_reused")
        db.session.commit()
        yield page("synergy page", practitioner.get(f"/synergies/{synergy.id}"))
        yield later_page("emission factors", practitioner, "/synergies/facteurs-emission")
        yield later_page("benefits form (choice of factor)", practitioner,
                         f"/synergies/{synergy.id}/benefices/verifies", exact=column == "label")
        yield Later("report exports", lambda: exports(env))

    field_case(f"emission_factor.{column}", max_len=max_len, min_len=1, spreadsheet=True)(enter)


_factor_case("label", 200)
_factor_case("source", 2000)


# --- workshops ------------------------------------------------------------------------------------------
SECTION = "workshops"


def _workshop_form(env, **overrides) -> dict:
    data = {"title": "Atelier ressources", "held_on": "2026-11-20", "place": "", "notes": "",
            "territory_id": str(env["t1"].id), "company_ids": [str(env["a"].id), str(env["b"].id)]}
    data.update(overrides)
    return data


def _workshop_case(column, max_len, min_len=0):
    def enter(env, value):
        from marketplace.workshops.models import Workshop

        practitioner = env.client("practitioner")
        response = practitioner.post("/animation/ateliers/nouveau", data=_workshop_form(env, **{column: value}))
        yield Submitted(response, lambda: getattr(newest(Workshop), column))
        workshop = newest(Workshop)
        yield later_page("workshops", practitioner, "/animation/ateliers", exact=column != "notes")
        yield page("workshop page", practitioner.get(f"/animation/ateliers/{workshop.id}"))
        yield page("edit form", practitioner.get(f"/animation/ateliers/{workshop.id}/modifier"))
        yield page("entry table", practitioner.get(f"/animation/ateliers/{workshop.id}/saisie"),
                   exact=column == "title")
        if column == "notes":
            return  # never sent to the companies
        yield page("collective report", practitioner.get(f"/animation/ateliers/{workshop.id}/rapport"))
        yield page("company report (member)",
                   env.client("alice").get(f"/animation/ateliers/{workshop.id}/entreprises/{env['a'].id}"))
        response = practitioner.post(f"/animation/ateliers/{workshop.id}/envoyer", data={})
        assert response.status_code == 302
        yield emails("report e-mail", env.mails_to(env["alice"].email), exact=column == "title")

    field_case(f"workshop.{column}", max_len=max_len, min_len=min_len)(enter)


_workshop_case("title", 160, min_len=3)
_workshop_case("place", 255)
_workshop_case("notes", 8000)


def _workshop(env):
    from marketplace.workshops import services

    workshop = services.create_workshop(env["practitioner"], env["t1"], {
        "title": "Atelier de Cornouaille", "held_on": date(2026, 11, 20), "place": "CCI"}, [env["a"], env["b"]])
    db.session.commit()
    return workshop


def _entry_case(column, max_len, min_len=0):
    def enter(env, value):
        from marketplace.listings.models import Listing
        from marketplace.workshops import rules
        from marketplace.workshops.models import WorkshopListing

        workshop = env.cache.get("workshop") or env.cache.setdefault("workshop", _workshop(env))
        practitioner = env.client("practitioner")
        row = rules.blank_values() | {"company_id": str(env["a"].id), "kind": "offer", "title": "Drêches humides",
                                      "category": "materials", "frequency": "weekly"}
        row[column] = value
        data = {"action": "save", **{f"rows-0-{name}": v for name, v in row.items()}}
        yield READY
        response = practitioner.post(f"/animation/ateliers/{workshop.id}/saisie", data=data)
        entered = sa.select(WorkshopListing.listing_id).where(WorkshopListing.workshop_id == workshop.id)

        def stored():
            typed = getattr(newest(Listing, Listing.id.in_(entered)), column)
            # The title is read as one line (as an imported cell): a line break is a space.
            return value if column == "title" and typed == one_line(value) else typed

        yield Submitted(response, stored)
        listing = newest(Listing, Listing.id.in_(entered))
        yield page("listing page", env.client("bob").get(f"/annonces/{listing.id}"))
        yield later_page("workshop page", practitioner, f"/animation/ateliers/{workshop.id}", exact=column == "title")
        yield later_page("collective report", practitioner, f"/animation/ateliers/{workshop.id}/rapport", exact=False)

    field_case(f"workshop entry {column}", max_len=max_len, min_len=min_len)(enter)


_entry_case("title", 160, min_len=3)
_entry_case("description", 8000)


# --- territories, alerts, vocabulary ----------------------------------------------------------------------
SECTION = "territories, alerts, vocabulary"


def _territory_case(column, max_len, min_len=0):
    def enter(env, value):
        from marketplace.accounts.models import Territory

        admin = env.client("admin")
        data = {"name": env.unique("Territoire "), "kind": "postcodes", "postcodes": "29900", "departements": "",
                "center_postcode": "", "radius_km": "", "dormant_after_days": "60", "description": ""}
        data[column] = value
        response = admin.post("/territoires/nouveau", data=data)
        yield Submitted(response, lambda: getattr(newest(Territory), column))
        territory = newest(Territory)
        yield page("territory page", admin.get(f"/territoires/{territory.id}"))
        yield page("edit form", admin.get(f"/territoires/{territory.id}/modifier"))
        yield later_page("territories", admin, "/territoires/", exact=column == "name")
        if column == "name":
            yield later_page("listing index (territory filter)", env.client(None), "/annonces")
            yield later_page("search (territory filter)", env.client("bob"), "/recherche")
            yield later_page("company page (site territories)", env.client("bob"), f"/entreprises/{env['a'].id}")
            yield later_page("alert form (territory filter)", env.client("bob"), "/alertes/nouvelle")

    field_case(f"territory.{column}", max_len=max_len, min_len=min_len)(enter)


_territory_case("name", 120, min_len=1)
_territory_case("description", 4000)


@field_case("alert.name", max_len=120)
def alert_name(env, value):
    from marketplace.notifications.models import SavedSearch
    from marketplace.notifications.services import set_mode

    set_mode(env["bob"], "alert", "instant")  # alerts default to the daily digest
    db.session.execute(sa.delete(SavedSearch).where(SavedSearch.user_id == env["bob"].id))  # one alert tells
    db.session.commit()
    bob = env.client("bob")
    yield READY
    response = bob.post("/alertes/nouvelle", data={"name": value, "q": "drêches", "kind": "", "category": "",
                                                   "territory": "", "postcode": "", "radius_km": "30"})
    yield Submitted(response, lambda: newest(SavedSearch).name)
    yield page("alerts", bob.get("/alertes"))
    yield page("after creation (flash)", bob.get(response.location))
    _published_offer(env, title="Drêches de brasserie fraîches", through_moderation=True)
    yield emails("alert e-mail", [m for m in env.mails_to(env["bob"].email) if "Alerte" in str(m["Subject"])])
    yield page("notifications", bob.get("/notifications"))


@field_case("alert.query", max_len=200)
def alert_query(env, value):
    from marketplace.notifications.models import SavedSearch

    bob = env.client("bob")
    response = bob.post("/alertes/nouvelle", data={"name": "", "q": value, "kind": "", "category": "",
                                                   "territory": "", "postcode": "", "radius_km": "30"})
    yield Submitted(response, lambda: newest(SavedSearch).query)
    yield later_page("alerts", bob, "/alertes")
    yield page("alert form prefilled", bob.get("/alertes/nouvelle", query_string={"q": value}))


def _has_words(value: str) -> bool:
    """A thesaurus term must hold a word the analysis keeps (`{{7*7}}` or `-1+1` hold none), on one line."""
    from marketplace.search.analysis import analyze_term

    return bool(analyze_term(value)) and "\n" not in value and "\r" not in value


@field_case("vocabulary.thesaurus line", max_len=500_000, accepts=_has_words)
def thesaurus_line(env, value):
    from marketplace.vocabulary.models import VocabularyDocument

    admin = env.client("admin")
    current = admin.get("/vocabulaire/thesaurus")
    assert current.status_code == 200
    from marketplace.vocabulary import services

    content = services.texts()["thesaurus"] + f"\n{value}, palox de test\n"
    response = admin.post("/vocabulaire/thesaurus", data={"content": content})

    def stored():
        document = db.session.get(VocabularyDocument, "thesaurus")
        db.session.refresh(document) if document else None
        return value if document and f"\n{value}, palox de test" in document.content else None

    yield Submitted(response, stored)
    yield later_page("vocabulary editor", admin, "/vocabulaire/thesaurus")
    yield later_page("vocabulary (practitioner)", env.client("practitioner"), "/vocabulaire/thesaurus")
    yield later_page("vocabulary overview", admin, "/vocabulaire/", exact=False)
    yield later_page("search with the synonym", env.client("bob"), "/recherche?q=palox", exact=False)


@field_case("vocabulary.uses line", max_len=500_000,
            accepts=lambda v: not v.strip().startswith("@") and "\n" not in v)
def uses_line(env, value):
    """`resources => outlets`; "@…" on the left is a waste-code prefix (`@SUM(1)` is refused as one)."""
    from marketplace.vocabulary import services
    from marketplace.vocabulary.models import VocabularyDocument

    admin = env.client("admin")
    line = f"{value} => méthanisation"
    response = admin.post("/vocabulaire/uses", data={"content": services.texts()["uses"] + f"\n{line}\n"})

    def stored():
        document = db.session.get(VocabularyDocument, "uses")
        return value if document and f"\n{line}" in document.content else None

    yield Submitted(response, stored)
    yield later_page("uses editor", admin, "/vocabulaire/uses")
    yield later_page("vocabulary overview", admin, "/vocabulaire/", exact=False)


# --- import -------------------------------------------------------------------------------------------------
SECTION = "import"


def _import_csv(rows: list[dict]) -> bytes:
    from marketplace.imports.rows import COLUMNS

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in COLUMNS})
    return out.getvalue().encode("utf-8")


def _import_row(env, **overrides) -> dict:
    row = {"ref": env.unique("IMP-"), "kind": "offer", "company_name": "Conserverie du Port", "postcode": "29900",
           "city": "Concarneau", "title": "Filets de pêche usagés", "description": "", "category": "materials",
           "waste_code": "", "quantity": "2", "unit": "t", "frequency": "once"}
    row.update(overrides)
    return row


def _upload(practitioner, rows: list[dict], xlsx: bool):
    """The import's preview of a CSV (or XLSX, every cell a string) holding `rows`; (response, token)."""
    if xlsx:
        from openpyxl import Workbook

        from marketplace.imports.rows import COLUMNS

        workbook = Workbook()
        sheet = workbook.active
        sheet.append(list(COLUMNS))
        for row in rows:
            sheet.append([None] * len(COLUMNS))
            for i, name in enumerate(COLUMNS, start=1):
                cell = sheet.cell(row=sheet.max_row, column=i)
                cell.value = row.get(name, "") or None
                cell.data_type = "s"
        out = io.BytesIO()
        workbook.save(out)
        upload = (io.BytesIO(out.getvalue()), "atelier.xlsx")
    else:
        upload = (io.BytesIO(_import_csv(rows)), "atelier.csv")
    preview = practitioner.post("/import/", data={"file": upload, "publish": "y"}, content_type="multipart/form-data")
    assert preview.status_code in (200, 422), preview.status_code
    token = re.search(r'name="token"[^>]*value="([^"]+)"', preview.get_data(as_text=True))
    return preview, token[1] if token else None


def _import_case(column, max_len, min_len=0, xlsx=False):
    """One file holds a line per payload (a workshop's sheet): previewed and confirmed once, the first
    time; each payload then finds its line. A NUL character makes a file of its own (refused whole)."""
    name = f"import cell {column}" + (" (XLSX)" if xlsx else "")

    def enter(env, value):
        from marketplace.listings.models import Listing

        practitioner = env.client("practitioner")
        key = f"import {column} {xlsx}"
        if key not in env.cache:
            rows = {}
            for payload in FIELDS[name].payloads:
                if "\x00" not in payload.text:
                    rows[payload.text] = _import_row(env, **{column: payload.text})
                    if column == "city":  # a company the import creates, with its site in that commune
                        rows[payload.text]["company_name"] = env.unique("Pêcherie ")
            preview, token = _upload(practitioner, list(rows.values()), xlsx)
            assert token, "the file is refused as a whole"
            report = practitioner.post("/import/confirmer", data={"token": token, "publish": "y", "notify": ""})
            assert report.status_code == 200
            env.cache[key] = (rows, preview, report)
        rows, preview, report = env.cache[key]
        if "\x00" in value:
            response, token = _upload(practitioner, [_import_row(env, **{column: value})], xlsx=False)
            assert token is None
            yield Submitted(response, None, nul_status=422)
            return
        ref = rows[value]["ref"]

        def stored():
            listing = newest(Listing, Listing.ref == ref)
            if column in ("company_name", "city"):
                stored = listing.company.name if column == "company_name" else listing.site.city
            else:
                stored = getattr(listing, column)
            # A one-line cell is read as one line (a line break typed in a spreadsheet cell is a space).
            return value if column != "description" and stored == one_line(value) else stored

        if newest(Listing, Listing.ref == ref) is None:  # its line refused: shown in error in the preview
            yield Submitted(preview, stored, echo=False)
            return
        report.status_code = 302  # imported: the report page stands for the redirect of a form
        yield Submitted(report, stored)
        listing = newest(Listing, Listing.ref == ref)
        yield page("listing page", env.client("bob").get(f"/annonces/{listing.id}"))
        yield Later("import preview", lambda: Seen("import preview", "html", preview.get_data(as_text=True)),
                    exact=column != "description")
        yield Later("import report", lambda: Seen("import report", "html", report.get_data(as_text=True)),
                    exact=False)

    field_case(name, max_len=max_len, min_len=min_len, spreadsheet=True)(enter)


_import_case("title", 160, min_len=3)
_import_case("description", 8000)
_import_case("company_name", 160, min_len=1)
_import_case("city", 120)
_import_case("title", 160, min_len=3, xlsx=True)


# --- API --------------------------------------------------------------------------------------------------
SECTION = "API"


def _api_case(column, max_len, min_len=0):
    def enter(env, value):
        from marketplace.listings.models import Listing

        body = {"kind": "offer", "title": "Sciure de hêtre", "description": "", "category": "materials",
                "quantity": 3, "unit": "t", "frequency": "monthly"}
        body[column] = value
        response = env.client(None).post("/api/v1/listings", headers=env.token("alice"), json=body)
        yield Submitted(response, lambda: getattr(newest(Listing), column), api=True)
        listing_id = response.get_json()["id"]
        yield Seen("API answer", "json", response.get_json(), key=column)
        yield api("API listing", env.client(None).get(f"/api/v1/listings/{listing_id}", headers=env.token("alice")),
                  column)
        yield page("listing page", env.client("alice").get(f"/annonces/{listing_id}"))
        patched = env.client(None).patch(f"/api/v1/listings/{listing_id}", headers=env.token("alice"),
                                         json={column: value + " (modifié)"})
        assert patched.status_code in (200, 422), patched.status_code

    field_case(f"API listing {column}", max_len=max_len, min_len=min_len)(enter)


_api_case("title", 160, min_len=3)
_api_case("description", 8000)


@field_case("API bid message", max_len=2000)
def api_bid_message(env, value):
    from marketplace.auctions.models import Bid

    session, lot = _room_with_lot(env)
    yield READY
    response = env.client(None).post(f"/api/v1/lots/{lot.id}/bids", headers=env.token("bob"), json={
        "unit_price_eur": 5, "quantity": 2, "message": value})
    yield Submitted(response, lambda: getattr(newest(Bid, Bid.lot_id == lot.id), "message", None), api=True)
    from marketplace.auctions import services as auctions

    auctions.close_lot(env["practitioner"], lot.id)
    db.session.commit()
    yield page("lot page (giver, shares to decide)", env.client("alice").get(f"/encheres/lots/{lot.id}"))
    yield api("API bids (giver)", env.client(None).get(f"/api/v1/lots/{lot.id}/bids", headers=env.token("alice")),
              "items.0.message")


@field_case("API retraction note", max_len=500)
def api_retraction_note(env, value):
    from marketplace.auctions import services as auctions
    from marketplace.auctions.models import LotEvent

    session, lot = _room_with_lot(env)
    bid, _created = auctions.place_bid(env["bob"], lot.id, Decimal("5"), Decimal("2"))
    db.session.commit()
    yield READY
    response = env.client(None).post(f"/api/v1/bids/{bid.id}/retract", headers=env.token("bob"),
                                     json={"reason": "typo", "note": value})

    def stored():
        event = newest(LotEvent, LotEvent.lot_id == lot.id, LotEvent.action == "bid_retracted")
        return (event.detail or {}).get("note") if event else None

    yield Submitted(response, stored, api=True)
    yield page("lot history", env.client("practitioner").get(f"/encheres/lots/{lot.id}/historique"))


# === the test ===============================================================================================


GROUPS = sorted({case.group for case in FIELDS.values()}, key=[c.group for c in FIELDS.values()].index)


@pytest.mark.parametrize("group", GROUPS)
def test_hostile_text_in_every_field(env, group):
    """Every payload in every field of the group (FIELDS × PAYLOADS), one shared world per group."""
    problems = []
    for case in [c for c in FIELDS.values() if c.group == group]:
        later: dict = {}
        for payload in case.payloads:
            problems += [f"{case.name} · {payload.key}: {p}" for p in run_case(case, env, payload, later)]
        problems += [f"{case.name} · {p}" for p in run_later(later)]
    assert not problems, f"{group}:\n  " + "\n  ".join(problems)


# === the checks themselves, and the root fixes they rely on ==================================================


def test_the_checks_catch_markup_that_would_run():
    """The checkers above fail on the holes they look for (else the table would prove nothing)."""
    from markupsafe import escape

    script, img, url = BY_KEY["script"], BY_KEY["img_onerror"], BY_KEY["javascript_url"]
    unescaped = f'<p>{script.text}</p><input value="{img.text}"><a href="{url.text}">x</a>'
    found = " ".join(markup_problems(unescaped))
    assert "raw markup" in found and "event handler" in found and "inline script" in found
    assert "script URL" in found
    assert check_html("p", "<p>&amp;lt;script&amp;gt;</p>", script, exact=True)  # escaped twice
    assert check_html("p", "<p>nothing</p>", script, exact=True)  # not shown
    assert check_html("p", f"<p>{escape(img.text)}</p>", img, exact=True) == []
    formula = BY_KEY["formula_hyperlink"]
    assert check_csv_cells("csv", [formula.text], formula)  # not neutralised
    assert check_csv_cells("csv", ["'" + formula.text], formula) == []


def test_lazy_strings_escape_the_values_they_carry(app):
    """flask_babel's lazy strings call themselves HTML: a value interpolated into one (a form error
    naming what was typed) used to reach the page unescaped. marketplace.lazy_text fixes them."""
    from flask_babel import lazy_gettext as _l
    from wtforms.validators import ValidationError

    template = app.jinja_env.from_string("{{ message }}")
    typed = BY_KEY["script"].text
    with app.test_request_context():
        rendered = template.render(message=_l("Codes déchets inconnus : %(codes)s", codes=typed))
        assert rendered == "Codes déchets inconnus : &lt;script&gt;alert(&#34;x1&#34;)&lt;/script&gt;"
        assert template.render(message=_l("Type d'annonce")) == "Type d'annonce"  # our own text unchanged
        nested = _l("%(action)s (échéance)", action=_l("Motif : %(reason)s", reason=typed))
        assert "<script>" not in template.render(message=nested)
        assert str(ValidationError(_l("Codes : %(codes)s", codes=typed))) == f"Codes : {typed}"  # text stays text
