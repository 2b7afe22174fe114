"""Hypothesis over the main HTML forms, posted through the test client as the person allowed to use
each: a valid submission with one to three fields replaced by hostile values (any Unicode text with
control characters, NUL, huge strings, numbers written every wrong way, impossible dates, unknown
choices), some fields left out or sent twice. Whatever is sent: never a 500; when the answer is not
a successful redirect, nothing was written (every table is compared) and the page shows back what was
typed in each text field (nothing the person typed is lost)."""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Callable

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from marketplace.extensions import db
from tests.conftest import listing_form, login
from tests.fuzz.conftest import changes, fuzz_settings, snapshot

EXAMPLES = 25  # per form

# --- hostile values ---------------------------------------------------------------------------------------

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),  # any Unicode but surrogates
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn"]), min_size=1, max_size=12),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\u202eabc", "\ufeff", "\r\n\r\n", "<b>gras</b>", "{{ 7*7 }}",
                     "%(name)s %s", "' OR 1=1 --", "=SUM(A1:A9)", "🙂" * 30, "e\u0301" * 20]),
    st.integers(200, 20_000).map(lambda n: "é" * n),  # longer than any field allows
)
NUMBER_TEXT = st.one_of(
    st.sampled_from(["NaN", "nan", "-nan", "sNaN", "inf", "-inf", "Infinity", "1e309", "-1e309", "1e-400", "1E5",
                     "0x1A", "1_000", "١٢٣", "１２", " 12 ", "12,5", "1 500,25", "1.2.3", "--1", "+-1", "-0",
                     "-0.0001", "0.0001", "1e10", "99999999999999999999999999", "9" * 400, "", " "]),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
DATE_TEXT = st.one_of(
    st.sampled_from(["2026-02-30", "2026-13-01", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01",
                     "31/12/2026", "2026-1-1", "2026-01-01T10:00", "", "demain", "2026-W01", "-2026-01-01"]),
    st.dates().map(str),
    st.datetimes().map(lambda moment: moment.isoformat()),
)
DATETIME_TEXT = st.one_of(DATE_TEXT, st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M")),
                          st.sampled_from(["0001-01-01T00:00", "9999-12-31T23:59", "2026-02-30T10:00"]))
UNKNOWN_CHOICE = st.sampled_from(["", "nope", "0", "-1", "9" * 30, "1.5", "None", "null", "\x00", "é"])


def select(*choices) -> st.SearchStrategy:
    return st.one_of(st.sampled_from([str(c) for c in choices]), UNKNOWN_CHOICE, st.text(max_size=10))


BOOL = st.sampled_from(["y", "", "on", "false", "0", "n", "\x00", "é" * 300])


@dataclass
class Form:
    """A form as someone posts it: who, where, a valid submission, and the values to try in each field
    that is not free text (a field absent from `kinds` is free text: hostile text, looked for in the page)."""

    user: str | None  # a key of the world, None: not logged in
    url: Callable[[dict], str]
    valid: Callable[[dict], dict]
    kinds: Callable[[dict], dict] = lambda w: {}
    refused_with_flash: bool = False  # refusals redirect back with an error message (no page to fill again)
    after_success: Callable[[dict], None] | None = None  # undo what prevents the next success


def _listing_kinds(w):
    return {"kind": select("offer", "need"), "category": select("materials", "energy", "services"),
            "unit": select("t", "kg", "m3", "unit"), "frequency": select("once", "weekly", "monthly"),
            "site_id": select(w["a"].sites[0].id, w["b"].sites[0].id), "price_mode": select("free", "priced"),
            "quantity": NUMBER_TEXT, "unit_price_eur": NUMBER_TEXT, "available_from": DATE_TEXT,
            "available_until": DATE_TEXT, "expires_on": DATE_TEXT, "submit_for": select("publish", "draft")}


def _detach_outsider(w):
    db.session.execute(sa.text('UPDATE "user" SET company_id = NULL WHERE id = :id'), {"id": w["outsider"].id})
    db.session.commit()


FORMS = {
    "sign-up": Form(None, lambda w: "/compte/inscription", lambda w: {
        "full_name": "Jeanne Le Bihan", "email": "jeanne@scierie.fr", "password": "bois-et-scie-29",
        "password_again": "bois-et-scie-29", "accept_terms": "y"},
        # A password never comes back in a page: its fields are fuzzed, not looked for.
        lambda w: {"password": HOSTILE_TEXT, "password_again": HOSTILE_TEXT, "accept_terms": BOOL}),
    "profile": Form("alice", lambda w: "/compte/profil", lambda w: {
        "full_name": "Alice Martin", "phone": "02 98 00 00 00", "locale": "fr"},
        lambda w: {"locale": select("fr", "en")}),
    "company create": Form("outsider", lambda w: "/entreprises/nouvelle", lambda w: {
        "name": "Scierie de l'Aven", "site_name": "Usine", "address": "", "postcode": "29930", "city": "",
        "siret": "", "naf_code": "", "description": "", "contact_email": "", "website": "",
        "handled_waste_codes": ""},
        lambda w: {"is_solution_provider": BOOL, "handled_categories": select("materials", "energy")},
        after_success=_detach_outsider),
    "company edit": Form("alice", lambda w: f"/entreprises/{w['a'].id}/modifier", lambda w: {
        "name": "Conserverie du Port", "siret": "", "naf_code": "10.20Z", "description": "Conserverie de poisson",
        "contact_name": "Alice", "contact_email": "contact@conserverie.fr", "contact_phone": "",
        "website": "https://conserverie.fr", "handled_waste_codes": "", "is_solution_provider": "y",
        "handled_categories": ["materials"], "treatment_operations": ["R3"]},
        lambda w: {"is_solution_provider": BOOL, "handled_categories": select("materials", "energy"),
                   "treatment_operations": select("R3", "R13", "D10")}),
    "site add": Form("alice", lambda w: f"/entreprises/{w['a'].id}/sites/nouveau", lambda w: {
        "name": "Entrepôt", "address": "1 quai Carnot", "postcode": "29000", "city": "Quimper"}),
    "listing create": Form("alice", lambda w: "/annonces/nouvelle", lambda w: listing_form(w["a"].sites[0].id),
                           _listing_kinds),
    "listing edit": Form("alice", lambda w: f"/annonces/{w['a_draft'].id}/modifier",
                         lambda w: listing_form(w["a"].sites[0].id, submit_for="draft"), _listing_kinds),
    "conversation reply": Form("bob", lambda w: f"/messages/{w['conversation'].id}",
                               lambda w: {"body": "Nous passons jeudi."}),
    "synergy create": Form("practitioner", lambda w: "/synergies/nouvelle", lambda w: {
        "territory_id": str(w["t1"].id), "giver_id": str(w["a"].id), "taker_id": str(w["b"].id),
        "title": "Palettes pour la brasserie", "kind": "ME", "sub_type": "reuse", "stage": "idea",
        "quantity": "4", "unit": "t", "next_action": "Appeler", "next_action_due": "2030-01-02",
        "notes": "", "listing_id": str(w["a_published"].id), "is_continuous": "y"},
        lambda w: {"territory_id": select(w["t1"].id, w["t2"].id), "giver_id": select(w["a"].id, w["c"].id),
                   "taker_id": select(w["b"].id, w["a"].id), "kind": select("ME", "TH", "EA"),
                   "sub_type": select("reuse", "recycling"), "stage": select("idea", "study"),
                   "quantity": NUMBER_TEXT, "unit": select("t", "kg"), "next_action_due": DATE_TEXT,
                   "listing_id": select(w["a_published"].id, w["a_draft"].id), "is_continuous": BOOL}),
    "synergy edit": Form("practitioner", lambda w: f"/synergies/{w['synergy'].id}/modifier", lambda w: {
        "title": "Drêches humides", "kind": "ME", "sub_type": "reuse", "unit": "t", "quantity": "40",
        "followed_by_id": "0", "notes": "Contrat signé", "is_continuous": "y"},
        lambda w: {"kind": select("ME", "TH"), "sub_type": select("reuse", "recycling"), "unit": select("t", "kg"),
                   "quantity": NUMBER_TEXT, "followed_by_id": select(0, w["practitioner"].id),
                   "is_continuous": BOOL}),
    "auction session create": Form("practitioner", lambda w: "/encheres/nouvelle", lambda w: {
        "title": "Enchères de printemps", "territory_id": str(w["t1"].id), "mode": "live",
        "starts_at": "2030-05-01T14:00", "closes_at": "", "place": "CCI, Quimper", "description": ""},
        lambda w: {"territory_id": select(w["t1"].id, w["t2"].id), "mode": select("live", "timed", "sealed"),
                   "starts_at": DATETIME_TEXT, "closes_at": DATETIME_TEXT, "is_online": BOOL}),
    "auction bid": Form("bob", lambda w: f"/encheres/lots/{w['lot'].id}/encherir", lambda w: {
        "unit_price_eur": "2.50", "quantity": "1", "message": "Pour nos fûts", "client_key": ""},
        lambda w: {"unit_price_eur": NUMBER_TEXT, "quantity": NUMBER_TEXT, "interest_only": BOOL},
        refused_with_flash=True),
    "alert create": Form("bob", lambda w: "/alertes/nouvelle", lambda w: {
        "name": "Palettes", "q": "palettes", "kind": "offer", "category": "materials", "territory": "",
        "postcode": "29000", "radius_km": "30"},
        lambda w: {"kind": select("offer", "need"), "category": select("materials", "energy"),
                   "territory": select(w["t1"].id, w["t2"].id), "radius_km": NUMBER_TEXT}),
    "territory create": Form("admin", lambda w: "/territoires/nouveau", lambda w: {
        "name": "Pays de Morlaix", "kind": "postcodes", "postcodes": "29600 29610", "departements": "",
        "center_postcode": "", "radius_km": "", "dormant_after_days": "60", "description": ""},
        lambda w: {"kind": select("postcodes", "departements", "radius"), "radius_km": NUMBER_TEXT,
                   "dormant_after_days": NUMBER_TEXT}),
}


@pytest.fixture
def forms_world(world, smtp):
    """The shared world, plus a synergy to edit and a lot on screen in a live room Bob is checked in to."""
    from marketplace.auctions import services as auctions
    from marketplace.models_base import utcnow
    from marketplace.synergies import services as synergies

    practitioner, alice = world["practitioner"], world["alice"]
    world["synergy"] = synergies.create_manual(practitioner, world["t1"], {
        "title": "Drêches", "kind": "ME", "sub_type": "reuse", "giver": world["a"], "taker": world["b"]})
    room = auctions.create_session(practitioner, world["t1"], {
        "title": "Salle de Concarneau", "mode": "live", "starts_at": utcnow() + timedelta(hours=1),
        "place": "CCI", "is_online": False, "description": ""})
    auctions.invite(practitioner, room, [world["b"]])
    world["lot"] = auctions.put_up(alice, room, world["a_published"], {"quantity": Decimal("10"),
                                                                       "allow_partial": True})
    db.session.commit()
    auctions.check_in(practitioner, room.id, world["b"].id, True)
    auctions.open_session(practitioner, room.id)
    auctions.present(practitioner, world["lot"].id)
    db.session.commit()
    return world


@st.composite
def submissions(draw, valid: dict, kinds: dict):
    """A valid submission with one to three fields replaced, maybe one left out, maybe some sent twice.
    Returns the form data and, for each replaced text field, the value the form keeps (the first one)."""
    names = list(valid)
    replaced = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    kept = [n for n in names if n not in replaced]
    left_out = draw(st.lists(st.sampled_from(kept), max_size=1)) if kept else []
    data, typed = MultiDict(), {}
    for name in names:
        if name in left_out:
            continue
        if name not in replaced:
            for value in valid[name] if isinstance(valid[name], list) else [valid[name]]:
                data.add(name, value)
            continue
        strategy = kinds.get(name, HOSTILE_TEXT)
        values = draw(st.lists(strategy, min_size=1, max_size=2))  # two: the field sent twice
        for value in values:
            data.add(name, value)
        if name not in kinds:
            typed[name] = values[0]
    return data, typed


def _shows(page: str, value: str) -> bool:
    """Whether the page shows what was typed (as typed, or trimmed as the form stores it)."""
    return any(form in page for form in (value, value.strip(), " ".join(value.split())))


def _clients(app, w) -> dict:
    clients = {None: app.test_client()}
    for name in {form.user for form in FORMS.values()} - {None}:
        clients[name] = app.test_client()
        login(clients[name], w[name])
    return clients


def _fuzz(name: str, form: Form, clients: dict, w: dict) -> None:
    client = clients[form.user]
    url, valid, kinds = form.url(w), form.valid(w), form.kinds(w)
    state = {"rows": snapshot()}

    @fuzz_settings(EXAMPLES)
    @given(submission=submissions(valid, kinds))
    def check(submission):
        data, typed = submission
        response = client.post(url, data=MultiDict(data))
        before, state["rows"] = state["rows"], snapshot()
        with client.session_transaction() as session:
            flashes = session.pop("_flashes", [])
        assert response.status_code < 500, response.get_data(as_text=True)[:2000]
        succeeded = response.status_code in (302, 303) and not (
            form.refused_with_flash and any(category == "error" for category, _message in flashes))
        if succeeded:
            if form.after_success:
                form.after_success(w)
                state["rows"] = snapshot()
            return
        assert changes(before, state["rows"]) == {}, f"{response.status_code}: refused, yet something was written"
        if response.status_code in (200, 422):  # the form again, with what was typed
            page = html.unescape(response.get_data(as_text=True))
            lost = [field for field, value in typed.items() if not _shows(page, value)]
            assert not lost, f"{response.status_code}: the page lost what was typed in {lost}"

    check()


def test_every_form(app, forms_world):
    """Every form of FORMS fuzzed on one world; every failing form is reported, not just the first."""
    clients = _clients(app, forms_world)
    db.session.commit()
    failures = {}
    for name, form in FORMS.items():
        try:
            _fuzz(name, form, clients, forms_world)
        except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 — reported all together below
            failures[name] = error
    assert not failures, "\n\n".join(f"{name}:\n{error}" for name, error in failures.items())
