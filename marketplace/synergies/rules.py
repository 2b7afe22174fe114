"""Synergy rules as pure functions: which stage moves are allowed, how stages group in reports,
which sub-types a kind has, and how CO2e follows from a quantity and an emission factor.
No database here: services.py hands in plain values and applies the outcome.

Stage moves (PNSI stages, see docs/synergies.md):
- forward from an open stage to any later stage of the pipeline, skipping allowed (a practitioner
  often learns at the next call that a synergy went from "discussion" straight to "implementation");
- backward one step only, between open stages (a negotiation falls back into discussion);
- to `blocked` or `abandoned` from any open stage, with a reason; `blocked` may still be abandoned;
- from `blocked` back to the stage it was blocked at (and only that one);
- `completed` and `abandoned` are final: only someone who may reopen (a practitioner of the
  territory, an administrator) brings a completed synergy back to `finalising`, or an abandoned one
  back to the stage it was abandoned at.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

PIPELINE = ("idea", "discussion", "negotiation", "implementation", "finalising", "completed")
STOPPED = ("blocked", "abandoned")
STAGES = PIPELINE + STOPPED
# Stages in which work goes on: they can move on, fall back one step, block or be abandoned.
OPEN_STAGES = PIPELINE[:-1]
FINAL_STAGES = ("completed", "abandoned")

STOP_REASONS = ("regulatory", "technical", "financial", "distance", "motivation", "other")

# Reporting groups (PNSI): en idée, en discussion, finalisées, bloquées/abandonnées.
REPORTING_GROUPS = {
    "idea": ("idea",),
    "discussion": ("discussion", "negotiation"),
    "finalised": ("implementation", "finalising", "completed"),
    "stopped": ("blocked", "abandoned"),
}

KINDS = ("ME", "TH")
SUB_TYPES = {
    "ME": ("substitution", "reuse", "recycling", "energy_recovery", "methanisation", "waste_heat", "treatment"),
    "TH": ("pooling", "local_economy", "human_resources", "know_how"),
}

# CO2e: t CO2e = quantity (t or MWh) × factor (kg CO2e per t or per MWh) / 1000, kept to the
# 10 kg: the factors themselves are rarely known better than to a few percent.
FACTOR_UNITS = ("t", "MWh")
CO2E_QUANTUM = Decimal("0.01")
# Benefit figures a factor can be applied to, by the factor's unit.
CO2E_BASES = {
    "t": ("tonnes_reused", "tonnes_virgin_substituted", "tonnes_diverted"),
    "MWh": ("mwh_saved", "mwh_produced"),
}
MAX_FIGURE = Decimal("1000000000")


def reporting_group(stage: str) -> str:
    """The reporting group of a stage ("idea", "discussion", "finalised", "stopped")."""
    for group, stages in REPORTING_GROUPS.items():
        if stage in stages:
            return group
    raise ValueError(stage)


def is_open(stage: str) -> bool:
    return stage in OPEN_STAGES


def is_final(stage: str) -> bool:
    return stage in FINAL_STAGES


def move_problem(current: str, target: str, *, previous: str | None = None, reason: str | None = None,
                 note: str = "", may_reopen: bool = False) -> str | None:
    """Why the synergy cannot go from `current` to `target` (None: it can). `previous` is the stage a
    blocked or abandoned synergy stopped at; `reason` and `note` come with a stop."""
    if current not in STAGES or target not in STAGES:
        return "unknown_stage"
    if current == target:
        return "same_stage"
    if target in STOPPED:
        if current not in OPEN_STAGES and not (current == "blocked" and target == "abandoned"):
            return "cannot_stop"
        if reason not in STOP_REASONS:
            return "reason_missing"
        if reason == "other" and not (note or "").strip():
            return "note_missing"
        return None
    if current == "blocked":
        return None if target == previous else "reopen_to_previous"
    if current == "abandoned":
        if not may_reopen:
            return "final"
        return None if target == previous else "reopen_to_previous"
    if current == "completed":
        if not may_reopen:
            return "final"
        return None if target == "finalising" else "backward_one_step"
    i, j = PIPELINE.index(current), PIPELINE.index(target)
    if j > i or j == i - 1:
        return None
    return "backward_one_step"


def allowed_targets(current: str, *, previous: str | None = None, may_reopen: bool = False) -> list[str]:
    """The stages a synergy may be moved to now (stops listed when a reason would make them valid)."""
    return [s for s in STAGES
            if move_problem(current, s, previous=previous, reason="technical", note="x", may_reopen=may_reopen) is None]


def previous_after_move(current: str, target: str, previous: str | None) -> str | None:
    """What `previous_stage` becomes: the stage a synergy stopped at, kept while it stays stopped."""
    if target in STOPPED:
        return current if current in OPEN_STAGES else previous
    return None


def sub_type_allowed(kind: str, sub_type: str | None) -> bool:
    """An empty sub-type is allowed (not yet known); otherwise it must belong to the kind."""
    return sub_type in (None, "") or sub_type in SUB_TYPES.get(kind, ())


def co2e_tonnes(quantity: Decimal | None, kg_per_unit: Decimal | None) -> Decimal | None:
    """Tonnes of CO2e avoided: quantity (t or MWh) × factor (kg CO2e per unit) / 1000, to the 10 kg.
    None when either is missing; negative quantities or factors are refused."""
    if quantity is None or kg_per_unit is None:
        return None
    quantity, kg_per_unit = Decimal(quantity), Decimal(kg_per_unit)
    if not (quantity.is_finite() and kg_per_unit.is_finite()) or quantity < 0 or kg_per_unit < 0:
        raise ValueError("quantity and factor must be finite and not negative")
    return (quantity * kg_per_unit / 1000).quantize(CO2E_QUANTUM, rounding=ROUND_HALF_UP)


def default_basis(factor_unit: str, figures: dict) -> str | None:
    """The figure a factor applies to when none was chosen: the first filled one of its unit."""
    for name in CO2E_BASES.get(factor_unit, ()):
        if figures.get(name) is not None:
            return name
    return None


def basis_fits(factor_unit: str, basis: str | None) -> bool:
    return basis in CO2E_BASES.get(factor_unit, ())
