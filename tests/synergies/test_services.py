"""Synergy services: creation (match, by hand, award), moves, next actions, edits, benefits and CO2e,
reminders, emission factors."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.notifications.models import Notification
from marketplace.synergies import services
from marketplace.synergies.models import EmissionFactor, Synergy, SynergyBenefit, SynergyEvent
from marketplace.synergies.services import SynergyError


def events(synergy):
    return db.session.scalars(sa.select(SynergyEvent).where(SynergyEvent.synergy_id == synergy.id)
                              .order_by(SynergyEvent.id)).all()


def told(user, kind="synergy"):
    return db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id,
                                                            Notification.kind == kind)).all()


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- from a match ------------------------------------------------------------------------------


def test_a_company_says_we_are_talking(world, match):
    synergy, created = services.create_from_match(world["alice"], match)
    db.session.commit()
    assert created
    assert (synergy.stage, synergy.origin, synergy.kind) == ("discussion", "match", "ME")
    assert (synergy.giver, synergy.taker, synergy.territory) == (world["a"], world["b"], world["t1"])
    assert (synergy.listing_id, synergy.need_listing_id) == (match.offer_id, match.need_id)
    assert synergy.title == world["a_published"].title and synergy.is_continuous  # a monthly offer
    assert synergy.followed_by is None  # a company started it: the territory's practitioners follow
    [event] = events(synergy)
    assert (event.action, event.to_stage, event.actor_id, event.detail["match_id"]) == (
        "created", "discussion", world["alice"].id, match.id)
    # The other company and the territory's practitioners hear of it; the starter does not.
    assert [n.link.endswith(f"/synergies/{synergy.id}") for n in told(world["bob"])] == [True]
    assert len(told(world["practitioner"])) == 1
    assert told(world["alice"]) == [] and told(world["other_practitioner"]) == []


def test_never_twice_for_the_same_pair(world, match):
    first, created = services.create_from_match(world["alice"], match)
    db.session.commit()
    again, created_again = services.create_from_match(world["bob"], match)
    by_practitioner, _ = services.create_from_match(world["practitioner"], match)
    db.session.commit()
    assert created and not created_again
    assert first.id == again.id == by_practitioner.id
    assert count(Synergy) == 1 and len(events(first)) == 1


def test_never_twice_even_when_two_requests_cross(world, match, monkeypatch):
    """The second request did not see the first one's synergy when it checked: the unique pair catches
    it at insert, the savepoint rolls back only that insert, the existing synergy is returned."""
    first, _ = services.create_from_match(world["alice"], match)
    db.session.commit()
    real = services.synergy_for_pair
    calls = []

    def late_view(offer_id, need_id):
        calls.append(1)
        return None if len(calls) == 1 else real(offer_id, need_id)

    monkeypatch.setattr(services, "synergy_for_pair", late_view)
    again, created = services.create_from_match(world["bob"], match)
    db.session.commit()
    assert not created and again.id == first.id and len(calls) == 2
    assert count(Synergy) == 1


def test_the_pair_is_unique_in_the_database(world, match):
    services.create_from_match(world["alice"], match)
    db.session.commit()
    db.session.add(Synergy(title="Doublon", origin="manual", listing_id=match.offer_id, need_listing_id=match.need_id))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_practitioner_who_starts_it_follows_it(world, match):
    synergy, _ = services.create_from_match(world["practitioner"], match)
    assert synergy.followed_by == world["practitioner"]
    assert told(world["practitioner"]) == []  # not told of what they did themselves


@pytest.mark.parametrize("who", ["carol", "other_practitioner", "outsider"])
def test_only_the_pair_and_its_practitioners_may_start_it(world, match, who):
    with pytest.raises(SynergyError) as refused:
        services.create_from_match(world[who], match)
    assert refused.value.code == "not_allowed"
    assert count(Synergy) == 0


def test_territory_of_a_pair_across_two_territories(world, make_listing):
    offer = world["a_published"]  # t1
    need = make_listing(world["c"], "published", kind="need", title="Cherche palettes")  # t2
    assert services.territory_for_pair(offer, need, world["other_practitioner"]) == world["t2"]
    assert services.territory_for_pair(offer, need, world["practitioner"]) == world["t1"]
    assert services.territory_for_pair(offer, need, world["carol"]) == world["t1"]  # the offer's


# --- by hand -----------------------------------------------------------------------------------


def test_a_practitioner_enters_a_synergy(world):
    synergy = services.create_manual(world["practitioner"], world["t1"], {
        "title": "  Mutualisation d'un chariot élévateur ", "kind": "TH", "sub_type": "pooling", "giver": world["a"],
        "taker": world["b"], "listing": world["a_published"], "stage": "implementation", "is_continuous": False,
        "quantity": Decimal("1"), "unit": "unit", "next_action": "Signer la convention",
        "next_action_due": date(2030, 3, 1), "notes": "Vu en atelier."})
    db.session.commit()
    assert (synergy.title, synergy.stage, synergy.origin, synergy.kind, synergy.sub_type) == (
        "Mutualisation d'un chariot élévateur", "implementation", "manual", "TH", "pooling")
    assert synergy.followed_by == world["practitioner"] and synergy.created_by == world["practitioner"]
    assert (synergy.next_action, synergy.next_action_due, synergy.listing_id) == (
        "Signer la convention", date(2030, 3, 1), world["a_published"].id)
    assert [e.action for e in events(synergy)] == ["created"]


def test_an_administrator_enters_one_without_following_it(world):
    synergy = services.create_manual(world["admin"], world["t2"], {
        "title": "Chutes d'acier", "giver": world["c"], "taker": world["a"]})
    assert synergy.stage == "idea" and synergy.kind == "ME" and synergy.followed_by is None


@pytest.mark.parametrize("who", ["alice", "other_practitioner", "outsider"])
def test_only_practitioners_of_the_territory_enter_one(world, who):
    with pytest.raises(SynergyError) as refused:
        services.create_manual(world[who], world["t1"], {"title": "X", "giver": world["a"], "taker": world["b"]})
    assert refused.value.code == "not_allowed"


@pytest.mark.parametrize("data, code", [
    ({"giver": "a", "taker": "a"}, "same_company"),
    ({"giver": "c", "taker": "c2"}, "company_outside_territory"),
    ({"giver": "a", "taker": "b", "kind": "ME", "sub_type": "pooling"}, "bad_sub_type"),
    ({"giver": "a", "taker": "b", "kind": "XX"}, "bad_sub_type"),
    ({"giver": "a", "taker": "b", "stage": "blocked"}, "unknown_stage"),
])
def test_a_synergy_entered_by_hand_must_make_sense(world, make_company, data, code):
    world["c2"] = make_company("Forges de Lanester", "56600")
    data = {**data, "title": "X", "giver": world[data["giver"]], "taker": world[data["taker"]]}
    with pytest.raises(SynergyError) as refused:
        services.create_manual(world["practitioner"], world["t1"], data)
    assert refused.value.code == code


def test_one_company_in_the_territory_is_enough(world):
    synergy = services.create_manual(world["practitioner"], world["t1"], {
        "title": "Ferraille", "giver": world["c"], "taker": world["a"]})
    assert synergy.territory == world["t1"]


# --- from an award -----------------------------------------------------------------------------


def test_an_award_makes_a_synergy_followed_by_the_session_runner(world, make_listing):
    from marketplace.auctions import services as auctions
    from marketplace.models_base import utcnow

    practitioner, alice, bob = world["practitioner"], world["alice"], world["bob"]
    session = auctions.create_session(practitioner, world["t1"], {
        "title": "Enchères", "mode": "live", "starts_at": utcnow() + timedelta(hours=1), "place": "CCI",
        "is_online": False, "description": ""})
    auctions.invite(practitioner, session, [world["b"]])
    lot = auctions.put_up(alice, session, make_listing(world["a"], title="Filets de pêche", quantity=Decimal("5")),
                          {"quantity": Decimal("5")})
    db.session.commit()
    auctions.check_in(practitioner, session.id, world["b"].id, True)
    auctions.open_session(practitioner, session.id)
    auctions.present(practitioner, lot.id)
    auctions.place_bid(bob, lot.id, Decimal("2.00"), Decimal("5"))
    auctions.close_lot(practitioner, lot.id)
    db.session.commit()
    auctions.decide_award(alice, lot.awards[0].id, True)
    db.session.commit()
    synergy = db.session.scalars(sa.select(Synergy)).one()
    assert (synergy.stage, synergy.origin, synergy.followed_by, synergy.is_continuous) == (
        "negotiation", "auction", practitioner, True)
    assert [(e.action, e.to_stage, e.actor_id) for e in events(synergy)] == [("created", "negotiation", alice.id)]


# --- moving it ---------------------------------------------------------------------------------


def test_moves_are_recorded_in_the_history(world, manual):
    practitioner = world["practitioner"]
    before = manual.stage_changed_at
    services.move(practitioner, manual, "negotiation")
    services.move(practitioner, manual, "blocked", "regulatory", "  Autorisation ICPE attendue ")
    db.session.commit()
    assert (manual.stage, manual.previous_stage, manual.stop_reason, manual.stop_note) == (
        "blocked", "negotiation", "regulatory", "Autorisation ICPE attendue")
    assert manual.stage_changed_at >= before
    with pytest.raises(SynergyError) as refused:
        services.move(practitioner, manual, "discussion")
    assert refused.value.code == "reopen_to_previous"
    db.session.rollback()
    services.move(practitioner, manual, "negotiation")
    db.session.commit()
    assert (manual.stage, manual.previous_stage, manual.stop_reason, manual.stop_note) == (
        "negotiation", None, None, None)
    assert [(e.action, e.from_stage, e.to_stage) for e in events(manual)] == [
        ("created", None, "discussion"), ("stage", "discussion", "negotiation"),
        ("stage", "negotiation", "blocked"), ("stage", "blocked", "negotiation")]
    assert events(manual)[2].detail == {"reason": "regulatory", "note": "Autorisation ICPE attendue"}


def test_a_stop_needs_its_reason(world, manual):
    for reason, note, code in ((None, "", "reason_missing"), ("other", " ", "note_missing")):
        with pytest.raises(SynergyError) as refused:
            services.move(world["practitioner"], manual, "abandoned", reason, note)
        assert refused.value.code == code
        db.session.rollback()
    assert db.session.get(Synergy, manual.id).stage == "discussion"


def test_practitioners_reopen_completed_and_abandoned_synergies(world, manual):
    practitioner = world["practitioner"]
    services.move(practitioner, manual, "completed")
    services.move(practitioner, manual, "finalising")
    services.move(practitioner, manual, "abandoned", "motivation")
    assert manual.previous_stage == "finalising"
    services.move(practitioner, manual, "finalising")
    db.session.commit()
    assert manual.stage == "finalising" and manual.stop_reason is None


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "other_practitioner", "outsider"])
def test_only_the_territory_practitioners_and_admins_move_it(world, manual, who):
    with pytest.raises(SynergyError) as refused:
        services.move(world[who], manual, "negotiation")
    assert refused.value.code == "not_allowed"
    services.move(world["admin"], manual, "negotiation")


def test_next_action_and_its_history(world, manual):
    services.set_next_action(world["practitioner"], manual, "  Relancer la brasserie ", date(2030, 5, 2))
    db.session.commit()
    assert (manual.next_action, manual.next_action_due) == ("Relancer la brasserie", date(2030, 5, 2))
    services.set_next_action(world["practitioner"], manual, "", None)
    db.session.commit()
    assert (manual.next_action, manual.next_action_due) == (None, None)
    assert [e.detail for e in events(manual) if e.action == "next_action"] == [
        {"next_action": "Relancer la brasserie", "due": "2030-05-02"}, {"next_action": None, "due": None}]
    with pytest.raises(SynergyError):
        services.set_next_action(world["alice"], manual, "Piraté", None)


def test_edits_are_recorded(world, manual, make_user):
    colleague = make_user("anim2@cci.fr", role="practitioner", territories=[world["t1"]])
    changed = services.update(world["practitioner"], manual, {
        "title": "Drêches humides", "kind": "ME", "sub_type": "reuse", "is_continuous": True,
        "followed_by_id": colleague.id, "notes": "Analyse en cours", "unit": "", "quantity": Decimal("3")})
    db.session.commit()
    assert sorted(changed) == ["followed_by_id", "notes", "quantity", "sub_type", "title"]
    assert manual.followed_by == colleague and manual.unit is None
    assert events(manual)[-1].detail == {"title": "Drêches humides", "sub_type": "reuse",
                                         "followed_by_id": colleague.id, "notes": "Analyse en cours",
                                         "quantity": "3"}
    assert services.update(world["practitioner"], manual, {"title": "Drêches humides"}) == []
    assert len(events(manual)) == 2


@pytest.mark.parametrize("data, code", [
    ({"followed_by_id": "other_practitioner"}, "follower_not_practitioner"),
    ({"followed_by_id": "alice"}, "follower_not_practitioner"),
    ({"kind": "TH"}, "bad_sub_type"),  # the sub-type "substitution" is ME
])
def test_edits_must_make_sense(world, manual, data, code):
    data = {k: (world[v].id if k == "followed_by_id" else v) for k, v in data.items()}
    with pytest.raises(SynergyError) as refused:
        services.update(world["practitioner"], manual, data)
    assert refused.value.code == code


# --- benefits and CO2e -------------------------------------------------------------------------


def test_companies_declare_practitioners_verify(world, manual, factors):
    declared = services.declare_benefits(world["alice"], manual, {"tonnes_reused": Decimal("12"),
                                                                  "eur_saved": Decimal("1800")}, note="Estimation")
    services.declare_benefits(world["bob"], manual, {"tonnes_reused": Decimal("11"), "jobs": Decimal("0.5")})
    db.session.commit()
    assert count(SynergyBenefit) == 1  # one row per synergy and status: Bob's declaration replaced Alice's
    assert (declared.tonnes_reused, declared.eur_saved, declared.jobs, declared.recorded_by) == (
        Decimal("11"), None, Decimal("0.5"), world["bob"])
    assert declared.is_annual  # a continuous synergy: yearly figures
    for who, status in (("alice", "verified"), ("carol", "declared"), ("other_practitioner", "declared")):
        with pytest.raises(SynergyError):
            services.record_benefits(world[who], manual, status, {"tonnes_reused": Decimal("1")})
    verified = services.verify_benefits(world["practitioner"], manual, {"tonnes_reused": Decimal("12")},
                                        factor=services.factor_by_key("acier_ferrailles_recyclage"))
    db.session.commit()
    assert [b.status for b in manual.benefits] == ["declared", "verified"]
    assert verified.co2e_tonnes == Decimal("15.28")  # 12 t × 1 273 kg/t
    assert (verified.co2e_method, verified.co2e_basis, verified.emission_factor_key, verified.emission_factor_value,
            verified.emission_factor_unit) == (
        "computed", "tonnes_reused", "acier_ferrailles_recyclage", Decimal("1273"), "t")
    assert "ADEME" in verified.emission_factor_source and verified.emission_factor_label.startswith("Ferrailles")
    assert [e.action for e in events(manual)][-3:] == ["benefits_declared", "benefits_declared", "benefits_verified"]
    assert events(manual)[-1].detail == {"tonnes_reused": "12", "co2e_tonnes": "15.28",
                                         "emission_factor": "acier_ferrailles_recyclage",
                                         "kg_co2e_per_unit": "1273.000", "basis": "tonnes_reused"}


def test_the_factor_stays_with_the_figure_when_the_table_changes(world, manual, factors):
    factor = services.factor_by_key("gaz_naturel_substitue")
    verified = services.verify_benefits(world["practitioner"], manual, {"mwh_saved": Decimal("100")}, factor=factor)
    db.session.commit()
    services.save_factor(world["admin"], {"key": factor.key, "label": factor.label, "unit": "MWh",
                                          "kg_co2e_per_unit": Decimal("239"),
                                          "source": "Base Empreinte, nouvelle version"})
    db.session.commit()
    db.session.expire_all()
    verified = db.session.get(SynergyBenefit, verified.id)
    assert (verified.co2e_tonnes, verified.emission_factor_value) == (Decimal("22.70"), Decimal("227"))
    assert "0,227" in verified.emission_factor_source
    # The stored figure can be re-derived from what is stored with it.
    assert verified.co2e_tonnes == services.rules.co2e_tonnes(verified.mwh_saved, verified.emission_factor_value)


def test_co2e_typed_in_or_computed(world, manual, factors):
    practitioner = world["practitioner"]
    entered = services.verify_benefits(practitioner, manual, {"co2e_tonnes": Decimal("3.5")})
    assert (entered.co2e_tonnes, entered.co2e_method, entered.emission_factor_key) == (Decimal("3.5"), "entered", None)
    computed = services.verify_benefits(practitioner, manual, {"co2e_tonnes": Decimal("3.5"),
                                                               "tonnes_diverted": Decimal("10"),
                                                               "mwh_produced": Decimal("40")},
                                        factor=services.factor_by_key("stockage_isdnd_evite"))
    assert computed.id == entered.id
    assert (computed.co2e_tonnes, computed.co2e_method, computed.co2e_basis) == (
        Decimal("4.00"), "computed", "tonnes_diverted")
    plain = services.verify_benefits(practitioner, manual, {"tonnes_diverted": Decimal("10")})
    assert (plain.co2e_tonnes, plain.co2e_method, plain.emission_factor_key, plain.co2e_basis) == (
        None, None, None, None)


@pytest.mark.parametrize("figures, key, basis, code", [
    ({"tonnes_reused": Decimal("3")}, "gaz_naturel_substitue", None, "basis_missing"),
    ({"mwh_saved": Decimal("3")}, "acier_ferrailles_recyclage", "mwh_saved", "basis_mismatch"),
    ({"tonnes_reused": Decimal("3")}, "acier_ferrailles_recyclage", "tonnes_diverted", "basis_missing"),
    ({"tonnes_reused": Decimal("-3")}, None, None, "figure_out_of_range"),
    ({"eur_saved": Decimal("1e12")}, None, None, "figure_out_of_range"),
])
def test_co2e_needs_a_figure_of_the_factor_unit(world, manual, factors, figures, key, basis, code):
    with pytest.raises(SynergyError) as refused:
        services.verify_benefits(world["practitioner"], manual, figures, factor=services.factor_by_key(key),
                                 basis=basis)
    assert refused.value.code == code


def test_a_disabled_factor_is_refused(world, manual, factors):
    factor = services.factor_by_key("verre_recyclage")
    factor.is_active = False
    assert factor not in services.active_factors()
    with pytest.raises(SynergyError) as refused:
        services.verify_benefits(world["practitioner"], manual, {"tonnes_reused": Decimal("1")}, factor=factor)
    assert refused.value.code == "factor_unknown"


def test_dashboard_totals_come_from_the_stored_benefits(world, manual, match, factors):
    other, _ = services.create_from_match(world["bob"], match)
    services.verify_benefits(world["practitioner"], manual, {"tonnes_reused": Decimal("12"), "jobs": Decimal("1")},
                             factor=services.factor_by_key("acier_ferrailles_recyclage"))
    services.verify_benefits(world["practitioner"], other, {"co2e_tonnes": Decimal("2.5"),
                                                            "eur_saved": Decimal("100.10")})
    services.declare_benefits(world["alice"], other, {"co2e_tonnes": Decimal("99")})
    db.session.commit()
    totals = services.benefit_totals([manual.id, other.id])
    assert (totals["co2e_tonnes"], totals["jobs"], totals["eur_saved"], totals["mwh_saved"]) == (
        Decimal("17.78"), Decimal("1"), Decimal("100.10"), Decimal("0"))
    assert services.benefit_totals([other.id], "declared")["co2e_tonnes"] == Decimal("99")
    assert services.benefit_totals([])["co2e_tonnes"] == 0


# --- reminders ---------------------------------------------------------------------------------


def test_reminders_once_per_synergy_and_due_date(world, manual):
    today = date(2030, 6, 10)
    practitioner = world["practitioner"]
    services.set_next_action(practitioner, manual, "Appeler la conserverie", today)
    db.session.commit()
    assert services.remind_due_actions(today) == 1
    assert services.remind_due_actions(today) == 0
    assert services.remind_due_actions(today + timedelta(days=3)) == 0  # overdue now, but already told
    [note] = told(practitioner)
    assert "Appeler la conserverie" in note.body and note.link.endswith(f"/synergies/{manual.id}")
    services.set_next_action(practitioner, manual, "Appeler la conserverie", today + timedelta(days=7))
    db.session.commit()
    assert services.remind_due_actions(today + timedelta(days=6)) == 0  # not due yet
    assert services.remind_due_actions(today + timedelta(days=9)) == 1  # a new due date, overdue
    assert [n.title.startswith("Action en retard") for n in told(practitioner)] == [False, True]
    assert told(world["alice"]) == [] and told(world["other_practitioner"]) == []


def test_reminders_go_to_the_territory_when_nobody_follows(world, manual, make_user):
    colleague = make_user("anim2@cci.fr", role="practitioner", territories=[world["t1"]])
    services.update(world["practitioner"], manual, {"followed_by_id": None})
    services.set_next_action(world["practitioner"], manual, "Visite", date(2030, 1, 1))
    db.session.commit()
    assert services.remind_due_actions(date(2030, 1, 1)) == 2
    assert len(told(colleague)) == len(told(world["practitioner"])) == 1


def test_a_follower_who_left_the_territory_is_replaced_by_its_practitioners(world, manual, make_user):
    from marketplace.territories.services import unassign_practitioner

    colleague = make_user("anim2@cci.fr", role="practitioner", territories=[world["t1"]])
    services.set_next_action(world["practitioner"], manual, "Visite", date(2030, 1, 1))
    unassign_practitioner(world["t1"], world["practitioner"])
    db.session.commit()
    assert services.reminder_recipients(manual) == [colleague]


@pytest.mark.parametrize("stage", ["completed", "abandoned"])
def test_no_reminder_for_closed_synergies(world, manual, stage):
    services.set_next_action(world["practitioner"], manual, "Bilan", date(2030, 1, 1))
    services.move(world["practitioner"], manual, stage, "financial")
    db.session.commit()
    assert services.remind_due_actions(date(2030, 1, 5)) == 0


def test_blocked_synergies_are_still_reminded(world, manual):
    services.set_next_action(world["practitioner"], manual, "Relancer la DREAL", date(2030, 1, 1))
    services.move(world["practitioner"], manual, "blocked", "regulatory")
    db.session.commit()
    assert services.remind_due_actions(date(2030, 1, 1)) == 1


# --- emission factors --------------------------------------------------------------------------


def test_default_factors_each_with_a_source(app):
    defaults = services.default_factors()
    assert len(defaults) >= 6 and len({d["key"] for d in defaults}) == len(defaults)
    for row in defaults:
        assert row["unit"] in ("t", "MWh") and row["kg_co2e_per_unit"] > 0
        assert "ADEME" in row["source"] and len(row["source"]) > 40


def test_loading_defaults_adds_what_is_missing_and_keeps_edits(world):
    db.session.execute(sa.delete(EmissionFactor))
    assert services.load_default_factors() == len(services.default_factors())
    steel = services.factor_by_key("acier_ferrailles_recyclage")
    steel.kg_co2e_per_unit = Decimal("1300")
    db.session.delete(services.factor_by_key("verre_recyclage"))
    db.session.commit()
    assert services.load_default_factors() == 1
    assert services.factor_by_key("acier_ferrailles_recyclage").kg_co2e_per_unit == Decimal("1300")


def test_only_administrators_edit_factors(world, factors):
    data = {"key": "bois_reemploi", "label": "Bois réemployé", "unit": "t", "kg_co2e_per_unit": Decimal("100"),
            "source": "Étude locale"}
    for who in ("practitioner", "alice"):
        with pytest.raises(SynergyError):
            services.save_factor(world[who], data)
    factor, created = services.save_factor(world["admin"], data)
    assert created and factor.updated_by == world["admin"] and factor.is_active
    factor, created = services.save_factor(world["admin"], {**data, "is_active": False})
    assert not created and not factor.is_active
