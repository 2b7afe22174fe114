"""Synergy rules, pure: stage moves, reporting groups, sub-types, CO2e."""
from decimal import Decimal

import pytest

from marketplace.synergies import rules
from marketplace.synergies.rules import move_problem

# --- stage moves -------------------------------------------------------------------------------


@pytest.mark.parametrize("current, target", [
    ("idea", "discussion"), ("discussion", "negotiation"), ("negotiation", "implementation"),
    ("implementation", "finalising"), ("finalising", "completed"),
    # forward jumps: a practitioner often learns late that a synergy moved on
    ("idea", "implementation"), ("idea", "completed"), ("discussion", "finalising"),
    # back one step
    ("discussion", "idea"), ("negotiation", "discussion"), ("implementation", "negotiation"),
    ("finalising", "implementation"),
])
def test_moves_along_the_pipeline(current, target):
    assert move_problem(current, target) is None


@pytest.mark.parametrize("current, target", [
    ("negotiation", "idea"), ("finalising", "discussion"), ("implementation", "idea"),
])
def test_backward_only_one_step(current, target):
    assert move_problem(current, target) == "backward_one_step"


@pytest.mark.parametrize("current", rules.OPEN_STAGES)
@pytest.mark.parametrize("stop", rules.STOPPED)
@pytest.mark.parametrize("reason", rules.STOP_REASONS)
def test_any_open_stage_can_stop_with_a_reason(current, stop, reason):
    note = "voir le compte rendu" if reason == "other" else ""
    assert move_problem(current, stop, reason=reason, note=note) is None


@pytest.mark.parametrize("reason", [None, "", "fatigue", "REGULATORY"])
def test_a_stop_needs_a_known_reason(reason):
    assert move_problem("discussion", "blocked", reason=reason) == "reason_missing"
    assert move_problem("discussion", "abandoned", reason=reason) == "reason_missing"


@pytest.mark.parametrize("note", ["", "   ", None])
def test_reason_other_needs_a_note(note):
    assert move_problem("discussion", "blocked", reason="other", note=note) == "note_missing"
    assert move_problem("discussion", "blocked", reason="other", note="Changement de direction") is None


def test_blocked_reopens_to_its_previous_stage_only():
    assert move_problem("blocked", "negotiation", previous="negotiation") is None
    assert move_problem("blocked", "discussion", previous="negotiation") == "reopen_to_previous"
    assert move_problem("blocked", "completed", previous="negotiation") == "reopen_to_previous"
    assert move_problem("blocked", "idea", previous=None) == "reopen_to_previous"


def test_blocked_can_be_abandoned_but_not_blocked_again():
    assert move_problem("blocked", "abandoned", previous="discussion", reason="financial") is None
    assert move_problem("blocked", "blocked", previous="discussion", reason="financial") == "same_stage"


@pytest.mark.parametrize("target", rules.PIPELINE)
def test_completed_and_abandoned_are_final_for_whoever_may_not_reopen(target):
    assert move_problem("completed", target, may_reopen=False) in ("final", "same_stage")
    assert move_problem("abandoned", target, previous="negotiation", may_reopen=False) == "final"


def test_reopening_a_completed_synergy_goes_back_to_finalising():
    assert move_problem("completed", "finalising", may_reopen=True) is None
    assert move_problem("completed", "implementation", may_reopen=True) == "backward_one_step"


def test_reopening_an_abandoned_synergy_goes_back_where_it_stopped():
    assert move_problem("abandoned", "negotiation", previous="negotiation", may_reopen=True) is None
    assert move_problem("abandoned", "idea", previous="negotiation", may_reopen=True) == "reopen_to_previous"


@pytest.mark.parametrize("stop", rules.STOPPED)
def test_a_completed_or_abandoned_synergy_cannot_stop(stop):
    assert move_problem("completed", stop, reason="technical", may_reopen=True) == "cannot_stop"
    assert move_problem("abandoned", "blocked", reason="technical", may_reopen=True) == "cannot_stop"


@pytest.mark.parametrize("current, target", [("idea", "idea"), ("completed", "completed"), ("blocked", "blocked")])
def test_same_stage_is_no_move(current, target):
    assert move_problem(current, target, reason="technical", may_reopen=True) == "same_stage"


@pytest.mark.parametrize("current, target", [("idea", "done"), ("nowhere", "idea"), ("", "")])
def test_unknown_stages(current, target):
    assert move_problem(current, target) == "unknown_stage"


def test_allowed_targets():
    assert rules.allowed_targets("negotiation") == [
        "discussion", "implementation", "finalising", "completed", "blocked", "abandoned"]
    assert rules.allowed_targets("idea") == [
        "discussion", "negotiation", "implementation", "finalising", "completed", "blocked", "abandoned"]
    assert rules.allowed_targets("blocked", previous="implementation") == ["implementation", "abandoned"]
    assert rules.allowed_targets("completed") == []
    assert rules.allowed_targets("completed", may_reopen=True) == ["finalising"]
    assert rules.allowed_targets("abandoned", previous="idea", may_reopen=True) == ["idea"]
    assert rules.allowed_targets("abandoned", previous="idea") == []


@pytest.mark.parametrize("current, target, previous, expected", [
    ("negotiation", "blocked", None, "negotiation"),
    ("discussion", "abandoned", None, "discussion"),
    ("blocked", "abandoned", "implementation", "implementation"),  # keeps where it first stopped
    ("blocked", "implementation", "implementation", None),
    ("abandoned", "idea", "idea", None),
    ("idea", "discussion", None, None),
])
def test_previous_stage_after_a_move(current, target, previous, expected):
    assert rules.previous_after_move(current, target, previous) == expected


# --- reporting groups ---------------------------------------------------------------------------


@pytest.mark.parametrize("stage, group", [
    ("idea", "idea"), ("discussion", "discussion"), ("negotiation", "discussion"),
    ("implementation", "finalised"), ("finalising", "finalised"), ("completed", "finalised"),
    ("blocked", "stopped"), ("abandoned", "stopped"),
])
def test_reporting_groups(stage, group):
    assert rules.reporting_group(stage) == group


def test_reporting_groups_cover_every_stage_once():
    grouped = [s for stages in rules.REPORTING_GROUPS.values() for s in stages]
    assert sorted(grouped) == sorted(rules.STAGES)


def test_unknown_stage_has_no_group():
    with pytest.raises(ValueError):
        rules.reporting_group("done")


# --- kinds and sub-types ------------------------------------------------------------------------


@pytest.mark.parametrize("kind, sub_type", [
    ("ME", "substitution"), ("ME", "reuse"), ("ME", "recycling"), ("ME", "energy_recovery"), ("ME", "methanisation"),
    ("ME", "waste_heat"), ("ME", "treatment"), ("TH", "pooling"), ("TH", "local_economy"),
    ("TH", "human_resources"), ("TH", "know_how"), ("ME", None), ("TH", ""),
])
def test_sub_types_of_each_kind(kind, sub_type):
    assert rules.sub_type_allowed(kind, sub_type)


@pytest.mark.parametrize("kind, sub_type", [("ME", "pooling"), ("TH", "recycling"), ("XX", "reuse"), ("ME", "x")])
def test_sub_types_of_another_kind_are_refused(kind, sub_type):
    assert not rules.sub_type_allowed(kind, sub_type)


def test_sub_types_match_the_domain_guide():
    assert len(rules.SUB_TYPES["ME"]) == 7 and len(rules.SUB_TYPES["TH"]) == 4
    assert not set(rules.SUB_TYPES["ME"]) & set(rules.SUB_TYPES["TH"])


# --- CO2e ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity, factor, expected", [
    ("12", "1273", "15.28"),        # 12 t of scrap steel × 1 273 kg/t = 15 276 kg
    ("0.5", "1273", "0.64"),        # 636.5 kg, half up
    ("100", "227", "22.70"),        # 100 MWh of natural gas
    ("1", "0", "0.00"),
    ("0", "1500", "0.00"),
    ("3.333", "450", "1.50"),       # 1 499.85 kg
    ("0.001", "4", "0.00"),
    ("1000000", "7000", "7000000.00"),
])
def test_co2e_is_tonnes_times_factor_over_a_thousand(quantity, factor, expected):
    result = rules.co2e_tonnes(Decimal(quantity), Decimal(factor))
    assert result == Decimal(expected) and str(result) == expected


def test_co2e_is_unknown_without_a_quantity_or_a_factor():
    assert rules.co2e_tonnes(None, Decimal("1273")) is None
    assert rules.co2e_tonnes(Decimal("3"), None) is None


@pytest.mark.parametrize("quantity, factor", [("-1", "10"), ("1", "-10"), ("NaN", "10"), ("1", "Infinity")])
def test_co2e_refuses_negative_or_non_finite_values(quantity, factor):
    with pytest.raises(ValueError):
        rules.co2e_tonnes(Decimal(quantity), Decimal(factor))


def test_default_basis_is_the_first_filled_figure_of_the_factor_unit():
    figures = {"tonnes_reused": None, "tonnes_virgin_substituted": Decimal("4"), "mwh_saved": Decimal("9")}
    assert rules.default_basis("t", figures) == "tonnes_virgin_substituted"
    assert rules.default_basis("MWh", figures) == "mwh_saved"
    assert rules.default_basis("MWh", {"mwh_produced": Decimal("1")}) == "mwh_produced"
    assert rules.default_basis("t", {}) is None
    assert rules.default_basis("kg", figures) is None


@pytest.mark.parametrize("unit, basis, fits", [
    ("t", "tonnes_reused", True), ("t", "tonnes_diverted", True), ("t", "mwh_saved", False),
    ("MWh", "mwh_produced", True), ("MWh", "tonnes_reused", False), ("MWh", None, False), ("m3", "mwh_saved", False),
])
def test_basis_fits_the_factor_unit(unit, basis, fits):
    assert rules.basis_fits(unit, basis) is fits
