"""Synergy pages as people use them: the board, one synergy, the forms, "nous sommes en discussion" on
a listing's matches, the emission-factor table; the morning reminder job and the commands."""
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.synergies import services
from marketplace.synergies.models import EmissionFactor, Synergy, SynergyBenefit
from tests.conftest import login


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def as_user(app, user):
    client = app.test_client()
    login(client, user)
    return client


# --- board -------------------------------------------------------------------------------------


def test_board_columns_by_stage_with_late_actions_in_red(app, world, manual, match):
    practitioner = world["practitioner"]
    services.set_next_action(practitioner, manual, "Relancer la brasserie", services.local_today() - timedelta(days=2))
    talking, _ = services.create_from_match(world["alice"], match)
    services.move(practitioner, talking, "blocked", "distance")
    services.create_manual(world["other_practitioner"], world["t2"], {
        "title": "Copeaux d'acier", "giver": world["c"], "taker": world["a"]})
    db.session.commit()
    html = page(as_user(app, practitioner), "/synergies/tableau")
    assert html.count('class="board-column') == 8
    assert "Drêches pour l&#39;élevage" in html and "Copeaux" not in html  # t2 is not theirs
    assert "board-card overdue" in html and "Relancer la brasserie" in html and "en retard" in html
    assert "Brasserie de l&#39;Odet → Conserverie du Port" in html
    assert "Motif : Distance" in html
    assert "<strong>1</strong> En discussion" in html and "<strong>1</strong> Bloquées / abandonnées" in html

    admin = as_user(app, world["admin"])
    assert "Copeaux" in page(admin, "/synergies/tableau")
    filtered = page(admin, f"/synergies/tableau?territoire={world['t2'].id}")
    assert "Copeaux" in filtered and "Drêches pour" not in filtered
    assert "Drêches pour" not in page(admin, "/synergies/tableau?origine=match")
    assert "Drêches pour" in page(admin, "/synergies/tableau?type=ME&origine=manual")
    assert "Drêches pour" not in page(admin, "/synergies/tableau?type=TH")
    assert "Drêches pour" in page(as_user(app, practitioner), "/synergies/tableau?moi=1")


def test_companies_see_their_own_synergies_on_the_board(app, world, manual):
    assert "Drêches pour" in page(as_user(app, world["alice"]), "/synergies/tableau")
    assert "Drêches pour" not in page(as_user(app, world["carol"]), "/synergies/tableau")
    outsider = page(as_user(app, world["outsider"]), "/synergies/tableau")
    assert "Aucune synergie ne correspond" in outsider and "Nouvelle synergie" not in outsider


# --- one synergy -------------------------------------------------------------------------------


def test_practitioner_moves_a_synergy_from_its_page(app, world, manual):
    client = as_user(app, world["practitioner"])
    html = page(client, f"/synergies/{manual.id}")
    assert "Changer d'étape" in html and "Prochaine action" in html and "Vérifier les bénéfices" in html
    response = client.post(f"/synergies/{manual.id}/etape", data={"stage": "negotiation"})
    assert response.status_code == 302
    response = client.post(f"/synergies/{manual.id}/etape", data={"stage": "blocked", "reason": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Synergy, manual.id).stage == "negotiation"
    assert "Indiquez le motif" in page(client, f"/synergies/{manual.id}")
    client.post(f"/synergies/{manual.id}/etape",
                data={"stage": "blocked", "reason": "financial", "note": "Budget 2031"})
    db.session.expire_all()
    synergy = db.session.get(Synergy, manual.id)
    assert (synergy.stage, synergy.stop_reason, synergy.previous_stage) == ("blocked", "financial", "negotiation")
    html = page(client, f"/synergies/{manual.id}")
    assert "Financier — Budget 2031" in html and "En discussion → En négociation" in html
    # From blocked, the form offers only the way back and abandoning.
    assert 'value="negotiation"' in html and 'value="idea"' not in html
    assert client.post(f"/synergies/{manual.id}/etape", data={"stage": "nowhere"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Synergy, manual.id).stage == "blocked"


def test_next_action_form(app, world, manual):
    client = as_user(app, world["practitioner"])
    response = client.post(f"/synergies/{manual.id}/prochaine-action",
                           data={"next_action": "Visite du site", "next_action_due": "2030-02-03"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Synergy, manual.id).next_action_due == date(2030, 2, 3)
    assert "Visite du site" in page(client, f"/synergies/{manual.id}")
    client.post(f"/synergies/{manual.id}/prochaine-action", data={"next_action": "x", "next_action_due": "demain"})
    db.session.expire_all()
    assert db.session.get(Synergy, manual.id).next_action == "Visite du site"


def test_a_company_sees_its_synergy_without_the_practitioner_forms(app, world, manual):
    html = page(as_user(app, world["alice"]), f"/synergies/{manual.id}")
    assert "Déclarer les bénéfices" in html
    assert "Changer d'étape" not in html and "Vérifier les bénéfices" not in html and "Modifier" not in html


def test_edit_page(app, world, manual):
    client = as_user(app, world["practitioner"])
    html = page(client, f"/synergies/{manual.id}/modifier")
    assert "Drêches pour l&#39;élevage" in html and "Toute l&#39;animation du territoire" in html
    response = client.post(f"/synergies/{manual.id}/modifier", data={
        "title": "Drêches humides", "kind": "ME", "sub_type": "reuse", "unit": "t", "quantity": "40",
        "followed_by_id": "0", "notes": "Contrat signé"})
    assert response.status_code == 302
    db.session.expire_all()
    synergy = db.session.get(Synergy, manual.id)
    assert (synergy.title, synergy.sub_type, synergy.quantity, synergy.followed_by_id, synergy.is_continuous) == (
        "Drêches humides", "reuse", Decimal("40"), None, False)
    bad = client.post(f"/synergies/{manual.id}/modifier", data={"title": "X" * 3, "kind": "TH", "sub_type": "reuse",
                                                                 "followed_by_id": "0"})
    assert bad.status_code == 422 and "ne correspond pas au type" in bad.get_data(as_text=True)


# --- new synergy -------------------------------------------------------------------------------


def test_new_synergy_form(app, world):
    client = as_user(app, world["practitioner"])
    html = page(client, f"/synergies/nouvelle?annonce={world['a_published'].id}")
    assert "À partir de l'annonce « Palettes à donner »" in html
    assert "Chantier Naval" not in html  # companies of the practitioner's territories only
    response = client.post("/synergies/nouvelle", data={
        "territory_id": str(world["t1"].id), "giver_id": str(world["a"].id), "taker_id": str(world["b"].id),
        "title": "Palettes pour la brasserie", "kind": "ME", "sub_type": "reuse", "stage": "idea",
        "next_action": "Appeler", "next_action_due": "2030-01-02", "listing_id": str(world["a_published"].id),
        "is_continuous": "y"})
    assert response.status_code == 302
    synergy = db.session.scalars(sa.select(Synergy)).one()
    assert response.location.endswith(f"/synergies/{synergy.id}")
    assert (synergy.listing_id, synergy.sub_type, synergy.is_continuous, synergy.origin) == (
        world["a_published"].id, "reuse", True, "manual")
    same = client.post("/synergies/nouvelle", data={
        "territory_id": str(world["t1"].id), "giver_id": str(world["a"].id), "taker_id": str(world["a"].id),
        "title": "Boucle", "kind": "ME", "stage": "idea"})
    assert same.status_code == 422 and "deux entreprises différentes" in same.get_data(as_text=True)


def test_a_practitioner_cannot_enter_one_in_another_territory(app, world):
    client = as_user(app, world["other_practitioner"])
    response = client.post("/synergies/nouvelle", data={
        "territory_id": str(world["t1"].id), "giver_id": str(world["a"].id), "taker_id": str(world["b"].id),
        "title": "Hors territoire", "kind": "ME", "stage": "idea"})
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Synergy)) == 0


def test_an_administrator_enters_one_between_companies_outside_the_territory(app, world):
    client = as_user(app, world["admin"])
    response = client.post("/synergies/nouvelle", data={
        "territory_id": str(world["t1"].id), "giver_id": str(world["c"].id), "taker_id": str(world["c"].id + 0),
        "title": "Même entreprise", "kind": "ME", "stage": "idea"})
    assert response.status_code == 422
    response = client.post("/synergies/nouvelle", data={
        "territory_id": str(world["t2"].id), "giver_id": str(world["a"].id), "taker_id": str(world["b"].id),
        "title": "Ni l'une ni l'autre", "kind": "ME", "stage": "idea"})
    assert response.status_code == 422 and "Au moins une des deux" in response.get_data(as_text=True)


# --- "nous sommes en discussion" on a match ----------------------------------------------------


def test_we_are_talking_from_the_listing_page(app, world, match):
    alice = as_user(app, world["alice"])
    html = page(alice, f"/annonces/{world['a_published'].id}")
    assert "Nous sommes en discussion" in html
    response = alice.post(f"/synergies/correspondances/{match.id}")
    assert response.status_code == 302
    synergy = db.session.scalars(sa.select(Synergy)).one()
    assert response.location.endswith(f"/synergies/{synergy.id}")
    html = page(alice, f"/annonces/{world['a_published'].id}")
    assert "Synergie suivie : En discussion" in html and "Nous sommes en discussion" not in html
    # Bob, from his need, finds the same synergy and cannot make a second one.
    bob = as_user(app, world["bob"])
    assert "Synergie suivie : En discussion" in page(bob, f"/annonces/{world['b_published'].id}")
    response = bob.post(f"/synergies/correspondances/{match.id}", follow_redirects=True)
    assert "déjà suivie comme synergie" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Synergy)) == 1


# --- benefits ----------------------------------------------------------------------------------


def test_declare_then_verify_benefits_with_a_factor(app, world, manual, factors):
    alice = as_user(app, world["alice"])
    html = page(alice, f"/synergies/{manual.id}/benefices/declares")
    assert "Synergie continue : indiquez des chiffres annuels." in html
    response = alice.post(f"/synergies/{manual.id}/benefices/declares", data={
        "tonnes_reused": "12", "eur_saved": "1 800", "jobs": "", "note": "Estimation de la brasserie"})
    assert response.status_code == 422  # "1 800" is not a number
    response = alice.post(f"/synergies/{manual.id}/benefices/declares", data={
        "tonnes_reused": "12", "eur_saved": "1800", "note": "Estimation de la brasserie"})
    assert response.status_code == 302

    practitioner = as_user(app, world["practitioner"])
    html = page(practitioner, f"/synergies/{manual.id}/benefices/verifies")
    assert 'value="12.000"' in html  # verification starts from the declaration
    bad = practitioner.post(f"/synergies/{manual.id}/benefices/verifies", data={
        "tonnes_reused": "12", "emission_factor": "gaz_naturel_substitue"})
    assert bad.status_code == 422 and "Renseignez la quantité" in bad.get_data(as_text=True)
    nan = practitioner.post(f"/synergies/{manual.id}/benefices/verifies", data={"tonnes_reused": "NaN"})
    assert nan.status_code == 422
    negative = practitioner.post(f"/synergies/{manual.id}/benefices/verifies", data={"tonnes_reused": "-4"})
    assert negative.status_code == 422
    response = practitioner.post(f"/synergies/{manual.id}/benefices/verifies", data={
        "tonnes_reused": "10", "eur_saved": "1500", "emission_factor": "acier_ferrailles_recyclage",
        "co2e_basis": "tonnes_reused", "co2e_tonnes": "999"})
    assert response.status_code == 302
    verified = db.session.scalar(sa.select(SynergyBenefit).where(SynergyBenefit.status == "verified"))
    assert (verified.co2e_tonnes, verified.emission_factor_key) == (Decimal("12.73"), "acier_ferrailles_recyclage")
    html = page(practitioner, f"/synergies/{manual.id}")
    assert "12,73" in html and "273 kg CO2e par tonne" in html and "Base Carbone" in html
    assert "<strong>12,73</strong> t CO2e évitées (vérifiées)" in page(practitioner, "/synergies/tableau")


# --- emission factors --------------------------------------------------------------------------


def test_emission_factor_table(app, world, factors):
    practitioner = page(as_user(app, world["practitioner"]), "/synergies/facteurs-emission")
    assert "acier_ferrailles_recyclage" in practitioner and "FEDEREC" in practitioner
    assert "Ajouter ou modifier un facteur" not in practitioner
    admin = as_user(app, world["admin"])
    html = page(admin, "/synergies/facteurs-emission?code=verre_recyclage")
    assert "Ajouter ou modifier un facteur" in html and 'value="verre_recyclage"' in html
    response = admin.post("/synergies/facteurs-emission", data={
        "key": "verre_recyclage", "label": "Verre recyclé", "kg_co2e_per_unit": "480", "unit": "t",
        "source": "Étude régionale 2030", "is_active": "y"})
    assert response.status_code == 302
    assert services.factor_by_key("verre_recyclage").kg_co2e_per_unit == Decimal("480")
    bad = admin.post("/synergies/facteurs-emission", data={
        "key": "Verre Recyclé!", "label": "x", "kg_co2e_per_unit": "-1", "unit": "kg", "source": ""})
    assert bad.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EmissionFactor)) == len(services.default_factors())


# --- reminders job, commands, preferences --------------------------------------------------------


def test_morning_job_mails_the_practitioner_once_per_due_date(app, world, manual, smtp):
    from marketplace.synergies.tasks import remind_synergy_actions

    services.set_next_action(world["practitioner"], manual, "Signer la convention", services.local_today())
    db.session.commit()
    smtp.clear()
    assert remind_synergy_actions.call_local() == 1
    assert remind_synergy_actions.call_local() == 0
    [mail] = smtp.to(world["practitioner"].email)
    assert "Action à mener aujourd'hui" in mail["Subject"]
    assert "Signer la convention" in smtp.text(mail) and f"/synergies/{manual.id}" in smtp.text(mail)
    assert smtp.to(world["alice"].email) == []


def test_commands(app, world, manual, runner):
    services.set_next_action(world["practitioner"], manual, "Visite", date(2020, 1, 1))
    db.session.execute(sa.delete(EmissionFactor))
    db.session.commit()
    result = runner.invoke(args=["synergies", "remind"])
    assert result.exit_code == 0 and "1 rappel(s)" in result.output
    assert "0 rappel(s)" in runner.invoke(args=["synergies", "remind"]).output
    result = runner.invoke(args=["synergies", "load-factors"])
    assert result.exit_code == 0 and f"{len(services.default_factors())} facteur(s)" in result.output
    assert "0 facteur(s)" in runner.invoke(args=["synergies", "load-factors"]).output


def test_synergy_notifications_have_their_own_preference(app, world):
    html = page(as_user(app, world["practitioner"]), "/notifications/preferences")
    assert "Synergies (nouvelles synergies, actions à mener)" in html


def test_practitioner_home_links_to_the_board(app, world):
    assert "/synergies/tableau" in page(as_user(app, world["practitioner"]), "/animation")
