"""Territory reports as pure functions: reading the filters of the query string, the period rule
(which synergy counts in a period), and the aggregation of plain rows into the PNSI tables and the
benefit totals. No database here: queries.py fetches plain rows, these functions shape them.

The period rule (docs/reports.md): a synergy counts in the period [start, end] when it was created
on or before the end of the period and was still open at its start, i.e. it was not already in a
final stage (`completed`, `abandoned`) reached before the period began. No period: every synergy.
Dates are calendar days in the territories' time zone; the database stores UTC.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

from marketplace.reference import fold
from marketplace.synergies.rules import FINAL_STAGES, KINDS, REPORTING_GROUPS, STAGES, STOP_REASONS, STOPPED

# Benefit figures, in the order of the forms (the same names as the synergy_benefit columns).
BENEFIT_FIGURES = ("tonnes_reused", "tonnes_diverted", "tonnes_virgin_substituted", "co2e_tonnes", "mwh_saved",
                   "mwh_produced", "eur_saved", "eur_additional_sales", "jobs", "m2_shared",
                   "private_investment_eur", "public_investment_eur")
# Decimal places of each figure (the columns' scales): sums are shown to the same precision.
FIGURE_SCALES = {"tonnes_reused": 3, "tonnes_diverted": 3, "tonnes_virgin_substituted": 3, "co2e_tonnes": 2,
                 "mwh_saved": 3, "mwh_produced": 3, "eur_saved": 2, "eur_additional_sales": 2, "jobs": 1,
                 "m2_shared": 1, "private_investment_eur": 2, "public_investment_eur": 2}
# The physical figures drawn on the benefits chart (t and MWh; euros, jobs and m² stay in the table).
CHART_FIGURES = ("tonnes_reused", "tonnes_diverted", "tonnes_virgin_substituted", "co2e_tonnes", "mwh_saved",
                 "mwh_produced")
# Dates outside these years are refused: nobody reports on them, and date arithmetic stays safe.
FIRST_YEAR, LAST_YEAR = 1990, 2100
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# --- filters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A reporting period, both ends included; either end may be open (None)."""

    start: date | None = None
    end: date | None = None

    @property
    def is_set(self) -> bool:
        return self.start is not None or self.end is not None

    def bounds_utc(self, zone: str) -> tuple[datetime | None, datetime | None]:
        """(start, end) as naive UTC datetimes, as the database stores them: the start is the first
        instant of the start day, the end the first instant *after* the end day (exclusive)."""
        tz = ZoneInfo(zone)

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time.min, tzinfo=tz).astimezone(timezone.utc).replace(tzinfo=None)

        return (midnight(self.start) if self.start else None,
                midnight(self.end + timedelta(days=1)) if self.end else None)


@dataclass
class Filters:
    """The dashboard's filters as read from the query string; `problems` lists what was refused
    (codes of labels.PROBLEMS): a refused value is ignored."""

    territory_id: int | None = None
    period: Period = field(default_factory=Period)
    problems: list[str] = field(default_factory=list)


def parse_day(value: str | None) -> date | None:
    """A YYYY-MM-DD day; None when empty. ValueError when it is not a real day of FIRST_YEAR..LAST_YEAR."""
    value = (value or "").strip()
    if not value:
        return None
    if not _ISO_DATE.fullmatch(value):
        raise ValueError(value)
    day = date.fromisoformat(value)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(value)
    return day


def parse_filters(args: Mapping[str, str]) -> Filters:
    """`territoire` (an id; empty: all of one's territories), `du` and `au` (YYYY-MM-DD). A value that
    does not read is dropped with a problem code; a start after the end drops the whole period."""
    filters = Filters()
    raw_territory = (args.get("territoire") or "").strip()
    if raw_territory:
        if raw_territory.isascii() and raw_territory.isdigit() and len(raw_territory) < 10:
            filters.territory_id = int(raw_territory)
        else:
            filters.problems.append("bad_territory")
    ends = {}
    for name, problem in (("du", "bad_start"), ("au", "bad_end")):
        try:
            ends[name] = parse_day(args.get(name))
        except ValueError:
            ends[name] = None
            filters.problems.append(problem)
    if ends["du"] and ends["au"] and ends["du"] > ends["au"]:
        filters.problems.append("start_after_end")
    else:
        filters.period = Period(ends["du"], ends["au"])
    return filters


def filter_args(territory_id: int | None, period: Period) -> dict[str, str]:
    """The query-string arguments that give these (valid) filters back: for links and exports."""
    args = {}
    if territory_id is not None:
        args["territoire"] = str(territory_id)
    if period.start:
        args["du"] = period.start.isoformat()
    if period.end:
        args["au"] = period.end.isoformat()
    return args


# --- the period rule ---------------------------------------------------------------------------


def counts_in_period(created_at: datetime, stage: str, stage_changed_at: datetime,
                     start_utc: datetime | None, end_utc: datetime | None) -> bool:
    """Whether a synergy counts in a period given by Period.bounds_utc (end exclusive): created before
    the end, and not already completed or abandoned before the start. queries.period_conditions says
    the same in SQL."""
    if end_utc is not None and created_at >= end_utc:
        return False
    if start_utc is not None and stage in FINAL_STAGES and stage_changed_at < start_utc:
        return False
    return True


# --- aggregation -------------------------------------------------------------------------------


def _by_kind() -> dict[str, int]:
    return {**dict.fromkeys(KINDS, 0), "total": 0}


def synergy_tables(rows: Iterable[tuple[str, str, str | None, int]]) -> dict:
    """PNSI tables from (stage, kind, stop_reason, count) rows:
    - `groups`: reporting group → {ME, TH, total}, and `groups_total` (the column totals);
    - `stages`: stage → {ME, TH, total} (every stage, in pipeline order);
    - `stop_reasons`: reason (None: not given) → {blocked, abandoned, total}, and `stop_total`;
    - `total`: every synergy counted. A kind outside ME/TH counts in the totals only."""
    groups = {group: _by_kind() for group in REPORTING_GROUPS}
    stages = {stage: _by_kind() for stage in STAGES}
    stop_reasons = {reason: {**dict.fromkeys(STOPPED, 0), "total": 0} for reason in STOP_REASONS}
    groups_total = _by_kind()
    stop_total = {**dict.fromkeys(STOPPED, 0), "total": 0}
    for stage, kind, reason, count in rows:
        count = int(count)
        if stage not in stages:
            continue  # not a known stage: not reportable
        group = next(g for g, members in REPORTING_GROUPS.items() if stage in members)
        for table in (stages[stage], groups[group], groups_total):
            if kind in KINDS:
                table[kind] += count
            table["total"] += count
        if stage in STOPPED:
            key = reason if reason in STOP_REASONS else None
            line = stop_reasons.setdefault(key, {**dict.fromkeys(STOPPED, 0), "total": 0})
            for table in (line, stop_total):
                table[stage] += count
                table["total"] += count
    return {"groups": groups, "groups_total": groups_total, "stages": stages, "stop_reasons": stop_reasons,
            "stop_total": stop_total, "total": groups_total["total"]}


def _quantized(name: str, value) -> Decimal:
    if value is None:
        return Decimal(0).quantize(Decimal(1).scaleb(-FIGURE_SCALES[name]))
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-FIGURE_SCALES[name]))


def benefit_tables(rows: Iterable[Mapping]) -> dict:
    """Benefit totals from grouped rows, each with `status` ("verified" or "declared": the query keeps
    declared rows only of synergies without a verified row), `is_annual`, `synergies` (how many rows)
    and one sum per figure (None: no figure). Returns:
    - `verified`: figure → sum of verified figures; `verified_annual`: the part from continuous
      synergies (figures per year);
    - `declared_pending`: figure → sum of declared figures of synergies not verified yet;
    - `counts`: how many synergies each of those covers."""
    zero = {name: _quantized(name, 0) for name in BENEFIT_FIGURES}
    out = {"verified": dict(zero), "verified_annual": dict(zero), "declared_pending": dict(zero),
           "declared_pending_annual": dict(zero),
           "counts": {"verified": 0, "verified_annual": 0, "declared_pending": 0, "declared_pending_annual": 0}}
    for row in rows:
        bucket = "verified" if row["status"] == "verified" else "declared_pending"
        targets = [bucket] + ([f"{bucket}_annual"] if row["is_annual"] else [])
        for target in targets:
            out["counts"][target] += int(row["synergies"])
            for name in BENEFIT_FIGURES:
                out[target][name] = _quantized(name, out[target][name] + _quantized(name, row[name]))
    return out


# --- map ---------------------------------------------------------------------------------------


def pick_site(preferred_site_id: int | None, company_id: int | None, sites: Mapping[int, tuple],
              sites_by_company: Mapping[int, list[int]], in_scope: set[int]) -> int | None:
    """The site drawn for one end of a synergy: the listing's own site when it has coordinates, else
    the company's first site in the report's territories, else its first site with coordinates.
    `sites`: site id → (lat, lon) of sites with coordinates; `sites_by_company`: company → site ids
    in id order."""
    if preferred_site_id is not None and preferred_site_id in sites:
        return preferred_site_id
    candidates = sites_by_company.get(company_id, []) if company_id is not None else []
    for site_id in candidates:
        if site_id in in_scope:
            return site_id
    return candidates[0] if candidates else None


# --- names -------------------------------------------------------------------------------------


def slug(text: str, limit: int = 40) -> str:
    """ASCII, lower-case, words joined by hyphens: for file names."""
    words = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return words[:limit].rstrip("-") or "territoire"


def export_filename(territory_name: str | None, period: Period, today: date, extension: str) -> str:
    """synergies_<territory or "tous-territoires">_<start>_<end>.<ext>; without a period, the day of
    the export (`au-<today>`), with an open end, `depuis-<start>` or `au-<end>`."""
    where = slug(territory_name) if territory_name else "tous-territoires"
    if period.start and period.end:
        when = f"{period.start.isoformat()}_{period.end.isoformat()}"
    elif period.start:
        when = f"depuis-{period.start.isoformat()}"
    else:
        when = f"au-{(period.end or today).isoformat()}"
    return f"synergies_{where}_{when}.{extension}"


# --- spreadsheets ------------------------------------------------------------------------------

# A spreadsheet reads a cell starting with one of these as a formula (or DDE command).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text):
    """A text cell that a spreadsheet would read as a formula, prefixed with an apostrophe (OWASP's
    advice for CSV); anything else unchanged."""
    if isinstance(text, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def is_formula_like(text) -> bool:
    return isinstance(text, str) and text.startswith(FORMULA_STARTS)


def decimal_comma(value) -> str:
    """A number as French spreadsheets read it in CSV: decimal comma, no thousands separator, trailing
    zeros kept as stored (empty for None)."""
    if value is None:
        return ""
    return format(Decimal(str(value)), "f").replace(".", ",")
