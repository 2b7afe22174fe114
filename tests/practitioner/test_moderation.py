"""The moderation queue: what each practitioner sees (their territories only), each decision on a listing or
a company and the e-mail that tells the owner why (through a real SMTP server), bulk decisions, corrections
recorded before → after, trusted companies skipping the queue, refused companies unable to publish, and
refused actions that change nothing."""
from __future__ import annotations

import html
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Company
from marketplace.extensions import db
from marketplace.listings import changes
from marketplace.listings.models import Listing, ListingEvent
from marketplace.models_base import utcnow
from marketplace.notifications.models import Notification
from tests.conftest import SmtpSink, listing_form, login

ALICE = "alice@conserverie.fr"


def text(response) -> str:
    """The page as read: entities decoded (flashed messages escape their apostrophes, templates do not)."""
    return html.unescape(response.get_data(as_text=True))


def client_for(app, user):
    client = app.test_client()
    login(client, user)
    return client


def events(listing) -> list[ListingEvent]:
    return db.session.scalars(sa.select(ListingEvent).where(ListingEvent.listing_id == listing.id)
                              .order_by(ListingEvent.id)).all()


def mail_text(msg) -> str:
    return SmtpSink.text(msg)


@pytest.fixture
def queue(world, make_company, make_user):
    """The world, plus a company waiting for review in each territory (its founder a member) and
    submission dates: `a_pending` waits longer than `a_pending_2`."""
    from marketplace.companies.services import create_company

    founders = {}
    for key, name, postcode in (("new_t1", "Menuiserie Nouvelle", "29000"), ("new_t2", "Fonderie Nouvelle", "56100")):
        founder = make_user(f"fondateur.{key[-2:]}@atelier.fr", name=f"Fondateur {key}")
        company = create_company(founder, {"name": name}, {"name": "Atelier", "postcode": postcode})
        founders[key] = founder
        world[key] = company
    db.session.commit()
    world["a_pending"].submitted_at = utcnow() - timedelta(days=3)
    world["a_pending_2"] = second = Listing(
        company=world["a"], site=world["a"].sites[0], author_id=world["alice"].id, status="pending",
        kind="need", title="Cherche bacs de rétention", description="", category="equipment",
        frequency="once", price_mode="negotiable", submitted_at=utcnow() - timedelta(days=1))
    db.session.add(second)
    db.session.commit()
    world["founders"] = founders
    return world


# --- before → after (pure) -----------------------------------------------------------------------


def test_plain_values_compare_by_meaning():
    assert changes.plain(Decimal("12.000")) == changes.plain(Decimal("12")) == "12"
    assert changes.plain(Decimal("1E+2")) == "100"
    assert changes.plain(Decimal("-120.50")) == "-120.5"
    assert changes.plain(date(2026, 5, 1)) == "2026-05-01"
    assert changes.plain("") is None and changes.plain(None) is None and changes.plain("t") == "t"


def test_diff_keeps_only_changed_fields_in_form_order():
    before = {"title": "Palettes", "quantity": "12", "unit": "t", "site": "Siège — 29900 Concarneau"}
    after = {"title": "Palettes EUR", "quantity": "12", "unit": "kg", "site": "Siège — 29900 Concarneau"}
    assert changes.diff(before, after) == {"title": {"before": "Palettes", "after": "Palettes EUR"},
                                           "unit": {"before": "t", "after": "kg"}}
    assert changes.diff(before, dict(before)) == {}


def test_describe_reads_slugs_dates_and_amounts_in_words(app):
    detail = {"changes": {
        "unit_price_eur": {"before": None, "after": "-120.5"}, "category": {"before": "materials", "after": "energy"},
        "expires_on": {"before": "2026-05-01", "after": None}, "quantity": {"before": "1500", "after": "2"},
        "description": {"before": "x" * 400, "after": "court"}, "mystery": {"before": 1, "after": 2}}}
    described = {label: (before, after) for label, before, after in changes.describe(detail)}
    assert described["Catégorie"] == ("Matières, déchets, coproduits", "Énergie (chaleur fatale, vapeur, combustibles)")
    assert described["Prix unitaire (€)"][0] == "—" and "120,50" in described["Prix unitaire (€)"][1]
    assert "2026" in described["Date d'expiration de l'annonce"][0] and described["Date d'expiration de l'annonce"][1] == "—"
    assert described["Quantité"][0].replace("\u202f", " ").replace("\xa0", " ") == "1 500"
    assert described["Description"][0].endswith("…") and len(described["Description"][0]) <= changes.LONG_TEXT + 1
    assert [label for label, *_ in changes.describe(detail)] == [
        "Description", "Catégorie", "Quantité", "Prix unitaire (€)", "Date d'expiration de l'annonce"]  # form order
    assert changes.describe(None) == [] and changes.describe({}) == []


# --- companies enter review ----------------------------------------------------------------------


def test_company_created_by_a_member_waits_for_the_practitioners_of_its_territory(
        app, client, make_territory, make_user, smtp):
    territory = make_territory("Cornouaille", "29930 29900")
    practitioner = make_user("anim@cci.fr", role="practitioner", territories=[territory])
    elsewhere = make_user("anim@ailleurs.fr", role="practitioner", territories=[make_territory("Ailleurs", "56100")])
    founder = make_user("scieur@aven.fr")
    login(client, founder)
    response = client.post("/entreprises/nouvelle", data={"name": "Scierie de l'Aven", "site_name": "Usine",
                                                          "postcode": "29930", "city": ""}, follow_redirects=True)
    assert "va vérifier sa fiche" in text(response) and "Fiche en cours de vérification" in text(response)
    company = db.session.scalar(sa.select(Company))
    assert company.review_status == "pending" and company.reviewed_at is None
    [note] = smtp.to(practitioner.email)
    assert "Entreprise à examiner : Scierie de l'Aven" in note["Subject"]
    assert "/animation/moderation" in mail_text(note)
    assert smtp.to(elsewhere.email) == []


def test_companies_from_imports_fixtures_and_administrators_are_approved(app, client, make_company, make_user):
    assert make_company("Importée").review_status == "approved"  # created without a member (import, demo)
    admin = make_user("admin@eit.fr", role="admin")
    login(client, admin)
    client.post("/entreprises/nouvelle", data={"name": "Créée par l'admin", "site_name": "Siège", "postcode": "29900"})
    created = db.session.scalar(sa.select(Company).where(Company.name == "Créée par l'admin"))
    assert created.review_status == "approved"


# --- the queue -----------------------------------------------------------------------------------


def test_each_practitioner_sees_the_queue_of_their_territories_only(app, queue):
    w = queue
    page = text(client_for(app, w["practitioner"]).get("/animation/moderation"))
    assert "Coproduits de poisson" in page and "Cherche bacs de rétention" in page  # a_pending, a_pending_2
    assert "Ferraille de chantier" not in page  # c_pending, in Lorient
    assert "Menuiserie Nouvelle" in page and "Fonderie Nouvelle" not in page
    assert page.index("Coproduits de poisson") < page.index("Cherche bacs de rétention")  # longest waiting first
    assert "2 annonces à valider" in page and "1 entreprise à examiner" in page
    # Asking for another's territory shows one's own.
    assert "Ferraille de chantier" not in text(client_for(app, w["practitioner"]).get(
        f"/animation/moderation?territory={w['t2'].id}"))

    other = text(client_for(app, w["other_practitioner"]).get("/animation/moderation"))
    assert "Ferraille de chantier" in other and "Fonderie Nouvelle" in other
    assert "Coproduits de poisson" not in other and "Menuiserie Nouvelle" not in other

    admin = client_for(app, w["admin"])
    everything = text(admin.get("/animation/moderation"))
    assert all(t in everything for t in ("Coproduits de poisson", "Ferraille de chantier", "Menuiserie Nouvelle",
                                         "Fonderie Nouvelle"))
    lorient = text(admin.get(f"/animation/moderation?territory={w['t2'].id}"))
    assert "Ferraille de chantier" in lorient and "Coproduits de poisson" not in lorient

    home = text(client_for(app, w["practitioner"]).get("/animation"))
    assert "2 annonces" in home and "1 entreprise" in home and "/animation/moderation" in home


def test_members_cannot_open_the_queue(app, queue):
    assert client_for(app, queue["alice"]).get("/animation/moderation").status_code == 403
    assert client_for(app, queue["founders"]["new_t1"]).get("/animation/moderation").status_code == 403


def test_the_queue_shows_the_company_trust_and_review(app, queue):
    from marketplace.territories.services import set_trusted

    w = queue
    new_listing = Listing(company=w["new_t1"], site=w["new_t1"].sites[0], status="pending", kind="offer",
                          title="Sciure de chêne", description="", category="materials", frequency="once",
                          price_mode="free", submitted_at=utcnow())
    db.session.add(new_listing)
    set_trusted(w["t1"], w["a"], True, w["practitioner"])  # trusted after a_pending was submitted
    db.session.commit()
    page = text(client_for(app, w["practitioner"]).get("/animation/moderation"))
    row_a = page[page.index("Coproduits de poisson"):page.index("Sciure de chêne")]
    assert "de confiance" in row_a
    row_new = page[page.index("Sciure de chêne"):]
    assert "entreprise à examiner" in row_new and "1 annonce en attente" in page


# --- one listing at a time -----------------------------------------------------------------------


def test_approve_from_the_queue_publishes_and_tells_the_owner(app, queue, smtp):
    w = queue
    practitioner = client_for(app, w["practitioner"])
    response = practitioner.post(f"/animation/moderation/annonces/{w['a_pending'].id}/decision?territory={w['t1'].id}",
                                 data={"action": "approve"})
    assert response.status_code == 302 and response.location.endswith(f"/animation/moderation?territory={w['t1'].id}")
    db.session.expire_all()
    listing = w["a_pending"]
    assert listing.status == "published" and listing.moderated_by_id == w["practitioner"].id
    [mail] = smtp.to(ALICE)
    assert mail["Subject"] == "Votre annonce est publiée" and "Coproduits de poisson" in mail_text(mail)
    assert [e.action for e in events(listing)][-1] == "approved"
    # A second decision is explained and changes nothing.
    again = practitioner.post(f"/animation/moderation/annonces/{listing.id}/decision",
                              data={"action": "reject", "reason": "Trop tard"}, follow_redirects=True)
    assert "déjà été traitée" in text(again)
    db.session.expire_all()
    assert listing.status == "published" and len(smtp.to(ALICE)) == 1


def test_request_changes_sends_the_listing_back_with_the_reason(app, queue, smtp):
    w = queue
    practitioner = client_for(app, w["practitioner"])
    practitioner.post(f"/animation/moderation/annonces/{w['a_pending'].id}/decision",
                      data={"action": "request_changes", "reason": "Précisez la quantité par semaine."})
    db.session.expire_all()
    listing = w["a_pending"]
    assert listing.status == "draft" and listing.rejection_reason == "Précisez la quantité par semaine."
    [mail] = smtp.to(ALICE)
    assert mail["Subject"] == "Votre annonce doit être modifiée"
    assert "Précisez la quantité par semaine." in mail_text(mail)
    event = events(listing)[-1]
    assert (event.action, event.from_status, event.to_status) == ("changes_requested", "pending", "draft")
    owner_page = text(client_for(app, w["alice"]).get(f"/annonces/{listing.id}"))
    assert "À modifier avant publication" in owner_page and "renvoyée pour modification" in owner_page


def test_reject_refuses_for_good_with_the_reason(app, queue, smtp):
    w = queue
    practitioner = client_for(app, w["practitioner"])
    practitioner.post(f"/animation/moderation/annonces/{w['a_pending'].id}/decision",
                      data={"action": "reject", "reason": "Annonce publicitaire, sans ressource à échanger."})
    db.session.expire_all()
    listing = w["a_pending"]
    assert listing.status == "withdrawn" and listing.rejection_reason.startswith("Annonce publicitaire")
    [mail] = smtp.to(ALICE)
    assert mail["Subject"] == "Votre annonce est refusée"
    body = mail_text(mail)
    assert "Annonce publicitaire, sans ressource à échanger." in body and "anim@cci.fr" in body
    assert "Annonce publicitaire" in mail.get_body(preferencelist=("html",)).get_content()
    assert events(listing)[-1].action == "refused"
    alice = client_for(app, w["alice"])
    page = text(alice.get(f"/annonces/{listing.id}"))
    assert "Annonce refusée par l" in page and "refusée par l" in page
    # For good: the owner cannot send it again.
    assert alice.post(f"/annonces/{listing.id}/soumettre").status_code == 403
    db.session.expire_all()
    assert listing.status == "withdrawn"


def test_refusing_from_the_listing_page_returns_to_it(app, queue, smtp):
    w = queue
    practitioner = client_for(app, w["practitioner"])
    page = text(practitioner.get(f"/annonces/{w['a_pending'].id}"))
    assert "Demander des modifications" in page and "Refuser définitivement" in page
    response = practitioner.post(f"/animation/moderation/annonces/{w['a_pending'].id}/decision",
                                 data={"action": "reject", "reason": "Hors du périmètre", "back": "listing"})
    assert response.location.endswith(f"/annonces/{w['a_pending'].id}")
    db.session.expire_all()
    assert w["a_pending"].status == "withdrawn"


@pytest.mark.parametrize("action", ["request_changes", "reject"])
def test_a_reason_is_required_to_refuse_or_request_changes(app, queue, smtp, action):
    w = queue
    practitioner = client_for(app, w["practitioner"])
    for reason in ("", "   ", "abc"):
        response = practitioner.post(f"/animation/moderation/annonces/{w['a_pending'].id}/decision",
                                     data={"action": action, "reason": reason}, follow_redirects=True)
        assert "Indiquez un motif" in text(response)
    response = practitioner.post(f"/animation/moderation/annonces/{w['a_pending'].id}/decision",
                                 data={"action": "explode"}, follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert w["a_pending"].status == "pending" and smtp.to(ALICE) == []


def test_another_territory_listing_cannot_be_decided_and_nothing_changes(app, queue, smtp):
    w = queue
    other = client_for(app, w["other_practitioner"])
    for action, reason in (("approve", ""), ("reject", "Pas chez moi"), ("request_changes", "Pas chez moi")):
        response = other.post(f"/animation/moderation/annonces/{w['a_pending'].id}/decision",
                              data={"action": action, "reason": reason})
        assert response.status_code == 404
    assert other.get(f"/animation/moderation/annonces/{w['a_pending'].id}").status_code == 404
    db.session.expire_all()
    assert w["a_pending"].status == "pending" and [e.action for e in events(w["a_pending"])] == ["created"]
    assert smtp.to(ALICE) == []


# --- corrections before approval -----------------------------------------------------------------


def moderation_form(listing, **overrides) -> dict:
    data = {"kind": listing.kind, "title": listing.title, "description": listing.description,
            "category": listing.category, "waste_code": listing.waste_code or "",
            "quantity": str(listing.quantity) if listing.quantity is not None else "", "unit": listing.unit or "",
            "frequency": listing.frequency, "price_mode": listing.price_mode,
            "unit_price_eur": str(listing.unit_price_eur) if listing.unit_price_eur is not None else "",
            "available_from": "", "available_until": "", "expires_on": "", "then": "save"}
    data.update(overrides)
    return data


def test_corrections_are_recorded_before_and_after_then_approved(app, queue, smtp):
    w = queue
    listing = w["a_pending"]
    practitioner = client_for(app, w["practitioner"])
    page = text(practitioner.get(f"/animation/moderation/annonces/{listing.id}"))
    assert "Corriger l'annonce" in page and 'value="Coproduits de poisson"' in page

    # Nothing changed: nothing recorded.
    response = practitioner.post(f"/animation/moderation/annonces/{listing.id}", data=moderation_form(listing),
                                 follow_redirects=True)
    assert "Aucun champ modifié" in text(response)
    assert [e.action for e in events(listing)] == ["created"]

    response = practitioner.post(f"/animation/moderation/annonces/{listing.id}", data=moderation_form(
        listing, title="Coproduits de poisson (têtes, arêtes)", quantity="12.5", unit="t", waste_code="02 02 03",
        price_mode="priced", unit_price_eur="-40", then="approve"))
    assert response.status_code == 302 and response.location.endswith("/animation/moderation")
    db.session.expire_all()
    assert listing.status == "published" and listing.title == "Coproduits de poisson (têtes, arêtes)"
    assert listing.unit_price_eur == Decimal("-40")
    moderated, approved = events(listing)[-2:]
    assert (moderated.action, moderated.actor_id, moderated.to_status) == ("moderated", w["practitioner"].id, "pending")
    assert approved.action == "approved"
    assert moderated.detail["changes"] == {
        "title": {"before": "Coproduits de poisson", "after": "Coproduits de poisson (têtes, arêtes)"},
        "waste_code": {"before": "15 01 03", "after": "02 02 03"},
        "quantity": {"before": "12", "after": "12.5"},
        "price_mode": {"before": "free", "after": "priced"},
        "unit_price_eur": {"before": None, "after": "-40"},
    }
    [mail] = smtp.to(ALICE)
    assert mail["Subject"] == "Votre annonce est publiée"
    # The owner sees what was changed, in the listing's history.
    history = text(client_for(app, w["alice"]).get(f"/annonces/{listing.id}"))
    assert "corrigée par l" in history
    assert "<del>Coproduits de poisson</del> → <ins>Coproduits de poisson (têtes, arêtes)</ins>" in history
    assert "Prix : <del>Gratuit</del> → <ins>Prix indiqué</ins>" in history


def test_invalid_corrections_change_nothing(app, queue):
    w = queue
    listing = w["a_pending"]
    practitioner = client_for(app, w["practitioner"])
    response = practitioner.post(f"/animation/moderation/annonces/{listing.id}",
                                 data=moderation_form(listing, title="", waste_code="99 99 99", then="approve"))
    assert response.status_code == 422 and "Code déchet inconnu" in text(response)
    db.session.expire_all()
    assert listing.status == "pending" and listing.title == "Coproduits de poisson"
    assert [e.action for e in events(listing)] == ["created"]


def test_a_decided_listing_is_no_longer_corrected(app, queue):
    w = queue
    practitioner = client_for(app, w["practitioner"])
    response = practitioner.get(f"/animation/moderation/annonces/{w['a_published'].id}")
    assert response.status_code == 302 and response.location.endswith(f"/annonces/{w['a_published'].id}")
    response = practitioner.post(f"/animation/moderation/annonces/{w['a_published'].id}",
                                 data=moderation_form(w["a_published"], title="Changée"))
    assert response.status_code == 302
    db.session.expire_all()
    assert w["a_published"].title == "Palettes à donner"


def test_the_owner_edits_are_recorded_before_and_after_too(app, queue):
    w = queue
    listing = w["a_draft"]
    alice = client_for(app, w["alice"])
    alice.post(f"/annonces/{listing.id}/modifier", data=listing_form(
        w["a"].sites[0].id, title="Brouillon corrigé", description="Palettes EUR en bon état.", waste_code="15 01 03",
        quantity="12", unit="t", frequency="monthly", submit_for="draft"))
    edited = events(listing)[-1]
    assert edited.action == "edited"
    assert edited.detail["changes"]["title"] == {"before": "Brouillon de la conserverie", "after": "Brouillon corrigé"}
    assert "quantity" not in edited.detail["changes"]  # 12.000 in the database, 12 in the form: unchanged


# --- bulk ----------------------------------------------------------------------------------------


def test_bulk_approve_counts_what_was_done(app, queue, smtp):
    w = queue
    practitioner = client_for(app, w["practitioner"])
    response = practitioner.post("/animation/moderation/decisions", data={
        "action": "approve", "listing_ids": [str(w["a_pending"].id), str(w["a_pending_2"].id)],
        "company_ids": [str(w["new_t1"].id)]}, follow_redirects=True)
    page = text(response)
    assert "2 annonce(s) approuvée(s) et publiée(s), 1 entreprise(s) validée(s)." in page
    assert "Aucune annonce en attente" in page and "Aucune entreprise à examiner" in page
    db.session.expire_all()
    assert w["a_pending"].status == w["a_pending_2"].status == "published"
    assert w["new_t1"].review_status == "approved" and w["new_t1"].reviewed_by_id == w["practitioner"].id
    assert sorted(m["Subject"] for m in smtp.to(ALICE)) == ["Votre annonce est publiée"] * 2
    [company_mail] = smtp.to("fondateur.t1@atelier.fr")
    assert company_mail["Subject"] == "Votre entreprise est validée"


def test_bulk_request_changes_sends_one_reason_to_each_owner(app, queue, smtp):
    w = queue
    practitioner = client_for(app, w["practitioner"])
    reason = "Merci d'ajouter une photo et la fréquence."
    response = practitioner.post("/animation/moderation/decisions", data={
        "action": "request_changes", "reason": reason,
        "listing_ids": [str(w["a_pending"].id), str(w["a_pending_2"].id)], "company_ids": [str(w["new_t1"].id)]},
        follow_redirects=True)
    assert "2 annonce(s) et 1 entreprise(s) renvoyée(s) pour modification" in text(response)
    db.session.expire_all()
    assert w["a_pending"].status == w["a_pending_2"].status == "draft"
    assert w["a_pending"].rejection_reason == w["a_pending_2"].rejection_reason == reason
    assert w["new_t1"].review_status == "changes_requested" and w["new_t1"].review_note == reason
    mails = smtp.to(ALICE) + smtp.to("fondateur.t1@atelier.fr")
    assert len(mails) == 3 and all(reason in mail_text(m) for m in mails)


def test_bulk_reject_needs_a_reason_and_one_foreign_id_stops_everything(app, queue, smtp):
    w = queue
    practitioner = client_for(app, w["practitioner"])
    response = practitioner.post("/animation/moderation/decisions", data={
        "action": "reject", "listing_ids": [str(w["a_pending"].id)]}, follow_redirects=True)
    assert "Indiquez un motif" in text(response)
    response = practitioner.post("/animation/moderation/decisions", data={"action": "approve"}, follow_redirects=True)
    assert "Cochez au moins une annonce ou une entreprise" in text(response)
    # Mine and one of Lorient: refused as a whole.
    response = practitioner.post("/animation/moderation/decisions", data={
        "action": "reject", "reason": "Doublons", "listing_ids": [str(w["a_pending"].id), str(w["c_pending"].id)]})
    assert response.status_code == 404
    response = practitioner.post("/animation/moderation/decisions", data={
        "action": "approve", "company_ids": [str(w["new_t1"].id), str(w["new_t2"].id)]})
    assert response.status_code == 404
    response = practitioner.post("/animation/moderation/decisions", data={
        "action": "approve", "listing_ids": ["abc"]}, follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert w["a_pending"].status == w["c_pending"].status == "pending"
    assert w["new_t1"].review_status == w["new_t2"].review_status == "pending"
    assert smtp.to(ALICE) == [] and smtp.to("fondateur.t1@atelier.fr") == []


def test_bulk_counts_what_someone_else_decided_first(app, queue, smtp):
    w = queue
    client_for(app, w["admin"]).post(f"/animation/moderation/annonces/{w['a_pending'].id}/decision",
                                     data={"action": "approve"})
    response = client_for(app, w["practitioner"]).post("/animation/moderation/decisions", data={
        "action": "reject", "reason": "Hors sujet",
        "listing_ids": [str(w["a_pending"].id), str(w["a_pending_2"].id)]}, follow_redirects=True)
    page = text(response)
    assert "1 annonce(s) et 0 entreprise(s) refusée(s)" in page and "1 déjà traitée(s)" in page
    db.session.expire_all()
    assert (w["a_pending"].status, w["a_pending_2"].status) == ("published", "withdrawn")


# --- trusted companies and company decisions -----------------------------------------------------


def test_trusted_companies_publish_without_the_queue(app, queue):
    from marketplace.territories.services import set_trusted

    w = queue
    set_trusted(w["t1"], w["a"], True, w["practitioner"])
    db.session.commit()
    alice = client_for(app, w["alice"])
    alice.post("/annonces/nouvelle", data=listing_form(w["a"].sites[0].id, title="Saumure à donner"))
    listing = db.session.scalar(sa.select(Listing).where(Listing.title == "Saumure à donner"))
    assert listing.status == "published" and listing.moderated_at is None
    assert "Saumure à donner" not in text(client_for(app, w["practitioner"]).get("/animation/moderation"))


def test_company_changes_requested_then_edited_returns_to_the_queue(app, queue, smtp):
    w = queue
    company, founder = w["new_t1"], w["founders"]["new_t1"]
    practitioner = client_for(app, w["practitioner"])
    smtp.clear()
    practitioner.post(f"/animation/moderation/entreprises/{company.id}/decision",
                      data={"action": "request_changes", "reason": "Indiquez votre SIRET et votre activité."})
    db.session.expire_all()
    assert company.review_status == "changes_requested"
    [mail] = smtp.to(founder.email)
    assert mail["Subject"] == "Votre fiche entreprise doit être complétée"
    assert "Indiquez votre SIRET et votre activité." in mail_text(mail)
    assert "Menuiserie Nouvelle" not in text(practitioner.get("/animation/moderation"))  # waits for the company
    member = client_for(app, founder)
    assert "Indiquez votre SIRET" in text(member.get(f"/entreprises/{company.id}"))

    member.post(f"/entreprises/{company.id}/modifier", data={"name": "Menuiserie Nouvelle",
                                                             "description": "Menuiserie bois et alu"})
    db.session.expire_all()
    assert company.review_status == "pending"
    assert "Menuiserie Nouvelle" in text(practitioner.get("/animation/moderation"))
    assert any("Entreprise à examiner" in m["Subject"] for m in smtp.to(w["practitioner"].email))


def test_a_refused_company_cannot_publish(app, queue, smtp):
    w = queue
    company, founder = w["new_t1"], w["founders"]["new_t1"]
    member = client_for(app, founder)
    member.post("/annonces/nouvelle", data=listing_form(company.sites[0].id, title="Chutes de contreplaqué"))
    pending = db.session.scalar(sa.select(Listing).where(Listing.title == "Chutes de contreplaqué"))
    published = Listing(company=company, site=company.sites[0], status="published", kind="offer",
                        title="Sciure en vrac", description="", category="materials", frequency="once",
                        price_mode="free", published_at=utcnow())
    db.session.add(published)
    db.session.commit()
    assert pending.status == "pending"
    smtp.clear()

    practitioner = client_for(app, w["practitioner"])
    response = practitioner.post(f"/animation/moderation/entreprises/{company.id}/decision",
                                 data={"action": "reject", "reason": "Entreprise inconnue au registre."},
                                 follow_redirects=True)
    assert "Entreprise refusée" in text(response)
    db.session.expire_all()
    assert company.review_status == "rejected" and company.review_note == "Entreprise inconnue au registre."
    assert pending.status == published.status == "withdrawn"
    assert events(published)[-1].action == "company_refused"
    [mail] = smtp.to(founder.email)  # one message for the company, naming its withdrawn listings
    assert mail["Subject"] == "Votre entreprise est refusée"
    body = mail_text(mail)
    assert "Entreprise inconnue au registre." in body and "Chutes de contreplaqué" in body and "Sciure en vrac" in body

    # Its new listings stay drafts, with a clear message.
    response = member.post("/annonces/nouvelle", data=listing_form(company.sites[0].id, title="Copeaux"),
                           follow_redirects=True)
    assert "Votre entreprise a été refusée" in text(response)
    draft = db.session.scalar(sa.select(Listing).where(Listing.title == "Copeaux"))
    assert draft.status == "draft"
    member.post(f"/annonces/{draft.id}/soumettre")
    db.session.expire_all()
    assert draft.status == "draft"
    # Its page is for its members and moderators only.
    assert member.get(f"/entreprises/{company.id}").status_code == 200
    assert client_for(app, w["alice"]).get(f"/entreprises/{company.id}").status_code == 404
    assert app.test_client().get(f"/entreprises/{company.id}").status_code == 404
    assert practitioner.get(f"/entreprises/{company.id}").status_code == 200


def test_a_listing_of_a_refused_company_cannot_be_approved(app, queue, smtp):
    w = queue
    company = w["new_t1"]
    listing = Listing(company=company, site=company.sites[0], status="pending", kind="offer", title="Tourets",
                      description="", category="equipment", frequency="once", price_mode="free")
    db.session.add(listing)
    company.review_status = "rejected"  # e.g. refused while a colleague had this listing open
    db.session.commit()
    practitioner = client_for(app, w["practitioner"])
    response = practitioner.post(f"/animation/moderation/annonces/{listing.id}/decision", data={"action": "approve"},
                                 follow_redirects=True)
    assert "ne peut pas être publiée" in text(response)
    response = practitioner.post(f"/annonces/{listing.id}/approuver", follow_redirects=True)
    assert "ne peut pas être publiée" in text(response)
    response = practitioner.post("/animation/moderation/decisions", data={
        "action": "approve", "listing_ids": [str(listing.id)]}, follow_redirects=True)
    assert "1 annonce(s) d'une entreprise refusée" in text(response)
    db.session.expire_all()
    assert listing.status == "pending"


def test_company_decisions_only_on_ones_territories(app, queue, smtp):
    w = queue
    practitioner = client_for(app, w["practitioner"])
    for action, reason in (("approve", ""), ("reject", "Pas chez moi")):
        assert practitioner.post(f"/animation/moderation/entreprises/{w['new_t2'].id}/decision",
                                 data={"action": action, "reason": reason}).status_code == 404
    assert client_for(app, w["alice"]).post(f"/animation/moderation/entreprises/{w['new_t1'].id}/decision",
                                            data={"action": "approve"}).status_code == 403
    db.session.expire_all()
    assert w["new_t2"].review_status == w["new_t1"].review_status == "pending"
    assert smtp.to("fondateur.t2@atelier.fr") == [] and smtp.to("fondateur.t1@atelier.fr") == []
    # The company page offers the decision to its moderators only.
    assert "Valider l'entreprise" in text(practitioner.get(f"/entreprises/{w['new_t1'].id}"))
    assert "Valider l'entreprise" not in text(practitioner.get(f"/entreprises/{w['new_t2'].id}"))
    member_page = text(client_for(app, w["founders"]["new_t1"]).get(f"/entreprises/{w['new_t1'].id}"))
    assert "Fiche en cours de vérification" in member_page and "Valider l'entreprise" not in member_page


def test_company_decision_from_its_page_and_a_second_one_is_explained(app, queue, smtp):
    w = queue
    admin = client_for(app, w["admin"])
    response = admin.post(f"/animation/moderation/entreprises/{w['new_t2'].id}/decision",
                          data={"action": "approve", "back": "company"})
    assert response.location.endswith(f"/entreprises/{w['new_t2'].id}")
    again = admin.post(f"/animation/moderation/entreprises/{w['new_t2'].id}/decision",
                       data={"action": "reject", "reason": "Finalement non"}, follow_redirects=True)
    assert "déjà été examinée" in text(again)
    db.session.expire_all()
    assert w["new_t2"].review_status == "approved"
    assert [m["Subject"] for m in smtp.to("fondateur.t2@atelier.fr")] == ["Votre entreprise est validée"]


def test_decisions_are_notifications_in_the_app(app, queue, smtp):
    w = queue
    client_for(app, w["practitioner"]).post(f"/animation/moderation/annonces/{w['a_pending'].id}/decision",
                                            data={"action": "reject", "reason": "Hors du périmètre de l'EIT"})
    [notification] = db.session.scalars(sa.select(Notification).where(
        Notification.user_id == w["alice"].id, Notification.kind == "moderation")).all()
    assert notification.title == "Votre annonce est refusée" and "Hors du périmètre" in notification.body


def test_the_api_refuses_to_submit_for_a_refused_company(app, client, runner, queue):
    w = queue
    w["new_t1"].review_status = "rejected"
    db.session.commit()
    result = runner.invoke(args=["users", "token", w["founders"]["new_t1"].email])
    headers = {"Authorization": f"Bearer {result.output.strip()}"}
    response = client.post("/api/v1/listings", headers=headers, json={
        "kind": "offer", "title": "Sciure de hêtre", "category": "materials", "quantity": 3, "unit": "t",
        "frequency": "once", "price_mode": "free", "submit": True})
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["code"] == "company_refused"
    assert db.session.scalar(sa.select(Listing).where(Listing.title == "Sciure de hêtre")) is None
    draft = client.post("/api/v1/listings", headers=headers, json={
        "kind": "offer", "title": "Sciure de chêne", "category": "materials", "quantity": 3, "unit": "t",
        "frequency": "once", "price_mode": "free"})
    assert draft.status_code == 201 and draft.get_json()["status"] == "draft"
    response = client.patch(f"/api/v1/listings/{draft.get_json()['id']}", headers=headers, json={"submit": True})
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(Listing, draft.get_json()["id"]).status == "draft"


def test_a_refused_company_can_not_respond_to_a_listing(app, world):
    from marketplace.conversations.models import Conversation

    carol, c = world["carol"], world["c"]
    c.review_status = "rejected"
    db.session.commit()
    listing = world["a_published"]
    assert not listing.can_respond(carol)
    client = client_for(app, carol)
    page = client.post(f"/annonces/{listing.id}/repondre", data={"quantity": "2", "message": "Intéressés"})
    assert page.status_code == 302
    assert "refusée par l'animation" in html.unescape(client.get(page.headers["Location"]).get_data(as_text=True))
    assert db.session.scalar(sa.select(Conversation).where(Conversation.responder_company_id == c.id)) is None
