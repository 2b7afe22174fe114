"""The reports' pure rules: filters, the period rule, the PNSI tables, benefit totals, names and
spreadsheet safety. No database, no application."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from marketplace.reports import rules
from marketplace.reports.rules import Period

PARIS = "Europe/Paris"


# --- filters -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("2024-01-31", date(2024, 1, 31)), (" 2024-02-29 ", date(2024, 2, 29)), ("", None), (None, None),
])
def test_parse_day_reads_iso_days(value, expected):
    assert rules.parse_day(value) == expected


@pytest.mark.parametrize("value", ["2023-02-29", "2024-13-01", "31/01/2024", "2024-1-5", "20240105", "abc",
                                   "1789-07-14", "9999-12-31", "２０２４-01-01", "2024-01-01T00:00"])
def test_parse_day_refuses_what_is_not_a_reportable_day(value):
    with pytest.raises(ValueError):
        rules.parse_day(value)


def test_parse_filters_keeps_good_values():
    filters = rules.parse_filters({"territoire": "12", "du": "2024-01-01", "au": "2024-12-31"})
    assert filters.territory_id == 12
    assert filters.period == Period(date(2024, 1, 1), date(2024, 12, 31))
    assert filters.problems == []


def test_parse_filters_empty_means_everything():
    filters = rules.parse_filters({"territoire": "", "du": "", "au": ""})
    assert (filters.territory_id, filters.period, filters.problems) == (None, Period(), [])
    assert not filters.period.is_set
    assert rules.parse_filters({}).problems == []


@pytest.mark.parametrize("args, problems, period", [
    ({"territoire": "abc"}, ["bad_territory"], Period()),
    ({"territoire": "-1"}, ["bad_territory"], Period()),
    ({"territoire": "12345678901"}, ["bad_territory"], Period()),
    ({"territoire": "٣"}, ["bad_territory"], Period()),  # a digit, but not an ASCII one
    ({"du": "2024-02-30", "au": "2024-12-31"}, ["bad_start"], Period(None, date(2024, 12, 31))),
    ({"du": "2024-01-01", "au": "demain"}, ["bad_end"], Period(date(2024, 1, 1), None)),
    ({"du": "x", "au": "y"}, ["bad_start", "bad_end"], Period()),
    ({"du": "2024-06-01", "au": "2024-05-31"}, ["start_after_end"], Period()),
])
def test_parse_filters_drops_what_does_not_read(args, problems, period):
    filters = rules.parse_filters(args)
    assert filters.problems == problems
    assert filters.period == period
    assert filters.territory_id is None


def test_a_one_day_period_is_allowed():
    filters = rules.parse_filters({"du": "2024-06-01", "au": "2024-06-01"})
    assert filters.problems == [] and filters.period == Period(date(2024, 6, 1), date(2024, 6, 1))


def test_filter_args_give_the_filters_back():
    assert rules.filter_args(None, Period()) == {}
    assert rules.filter_args(3, Period(date(2024, 1, 1), None)) == {"territoire": "3", "du": "2024-01-01"}
    assert rules.filter_args(None, Period(None, date(2024, 3, 31))) == {"au": "2024-03-31"}


# --- the period rule ---------------------------------------------------------------------------


def test_period_bounds_are_local_midnights_in_utc():
    # Paris is UTC+1 in winter, UTC+2 in summer: the bounds move with it.
    assert Period(date(2024, 1, 1), date(2024, 6, 30)).bounds_utc(PARIS) == (
        datetime(2023, 12, 31, 23, 0), datetime(2024, 6, 30, 22, 0))
    assert Period().bounds_utc(PARIS) == (None, None)
    assert Period(None, date(2024, 12, 31)).bounds_utc("UTC") == (None, datetime(2025, 1, 1))


def _counts(created, stage, changed, period):
    start, end = period.bounds_utc(PARIS)
    return rules.counts_in_period(created, stage, changed, start, end)


YEAR_2024 = Period(date(2024, 1, 1), date(2024, 12, 31))


@pytest.mark.parametrize("created, stage, changed, expected", [
    # created during the period, any stage
    (datetime(2024, 3, 1), "idea", datetime(2024, 3, 1), True),
    (datetime(2024, 3, 1), "completed", datetime(2024, 9, 1), True),
    # created before, still open (or blocked: not final) at the start
    (datetime(2022, 3, 1), "discussion", datetime(2022, 3, 1), True),
    (datetime(2022, 3, 1), "blocked", datetime(2022, 5, 1), True),
    # completed or abandoned before the start: no longer in play
    (datetime(2022, 3, 1), "completed", datetime(2023, 11, 15), False),
    (datetime(2022, 3, 1), "abandoned", datetime(2023, 12, 20), False),
    # … but completed or abandoned during the period, it counts (in its group)
    (datetime(2022, 3, 1), "abandoned", datetime(2024, 6, 15), True),
    # created after the end
    (datetime(2025, 1, 2), "idea", datetime(2025, 1, 2), False),
    # local days: 31 Dec 23:30 UTC is already 1 Jan in Paris (after the period)…
    (datetime(2024, 12, 31, 23, 30), "idea", datetime(2024, 12, 31, 23, 30), False),
    # … and 31 Dec 22:30 UTC is 31 Dec 23:30 in Paris (inside)
    (datetime(2024, 12, 31, 22, 30), "idea", datetime(2024, 12, 31, 22, 30), True),
    # completed at 00:30 on 1 Jan in Paris (23:30 UTC the day before): during the period
    (datetime(2023, 5, 1), "completed", datetime(2023, 12, 31, 23, 30), True),
    (datetime(2023, 5, 1), "completed", datetime(2023, 12, 31, 22, 30), False),
])
def test_counts_in_period(created, stage, changed, expected):
    assert _counts(created, stage, changed, YEAR_2024) is expected


def test_without_period_everything_counts():
    assert _counts(datetime(1999, 1, 1), "abandoned", datetime(2000, 1, 1), Period())
    assert _counts(datetime(2099, 1, 1), "idea", datetime(2099, 1, 1), Period())


def test_open_ended_periods():
    since = Period(date(2024, 1, 1), None)
    assert _counts(datetime(2030, 1, 1), "idea", datetime(2030, 1, 1), since)
    assert not _counts(datetime(2020, 1, 1), "completed", datetime(2023, 1, 1), since)
    until = Period(None, date(2023, 12, 31))
    assert _counts(datetime(2020, 1, 1), "completed", datetime(2021, 1, 1), until)
    assert not _counts(datetime(2024, 1, 2), "idea", datetime(2024, 1, 2), until)


# --- PNSI tables -------------------------------------------------------------------------------


def test_synergy_tables_group_by_reporting_group_and_kind():
    rows = [("idea", "ME", None, 2), ("discussion", "ME", None, 1), ("negotiation", "TH", None, 4),
            ("implementation", "ME", None, 1), ("finalising", "TH", None, 1), ("completed", "ME", None, 3),
            ("blocked", "ME", "regulatory", 1), ("blocked", "TH", "regulatory", 2),
            ("abandoned", "ME", "distance", 1), ("abandoned", "TH", "other", 1)]
    tables = rules.synergy_tables(rows)
    assert tables["groups"] == {
        "idea": {"ME": 2, "TH": 0, "total": 2},
        "discussion": {"ME": 1, "TH": 4, "total": 5},
        "finalised": {"ME": 4, "TH": 1, "total": 5},
        "stopped": {"ME": 2, "TH": 3, "total": 5},
    }
    assert tables["groups_total"] == {"ME": 9, "TH": 8, "total": 17}
    assert tables["total"] == 17
    assert tables["stages"]["negotiation"] == {"ME": 0, "TH": 4, "total": 4}
    assert tables["stages"]["completed"] == {"ME": 3, "TH": 0, "total": 3}
    assert list(tables["stages"]) == ["idea", "discussion", "negotiation", "implementation", "finalising",
                                      "completed", "blocked", "abandoned"]
    assert tables["stop_reasons"]["regulatory"] == {"blocked": 3, "abandoned": 0, "total": 3}
    assert tables["stop_reasons"]["distance"] == {"blocked": 0, "abandoned": 1, "total": 1}
    assert tables["stop_reasons"]["technical"] == {"blocked": 0, "abandoned": 0, "total": 0}
    assert tables["stop_total"] == {"blocked": 3, "abandoned": 2, "total": 5}
    assert None not in tables["stop_reasons"]


def test_synergy_tables_empty_and_odd_rows():
    empty = rules.synergy_tables([])
    assert empty["total"] == 0 and empty["groups"]["idea"] == {"ME": 0, "TH": 0, "total": 0}
    # A stopped synergy without a reason gets its own line; an unknown kind counts in totals only;
    # an unknown stage is not reportable.
    tables = rules.synergy_tables([("blocked", "ME", None, 2), ("idea", "XX", None, 1), ("lost", "ME", None, 5)])
    assert tables["stop_reasons"][None] == {"blocked": 2, "abandoned": 0, "total": 2}
    assert tables["groups"]["idea"] == {"ME": 0, "TH": 0, "total": 1}
    assert tables["total"] == 3


def _benefit_row(status, is_annual, synergies, **figures):
    return {"status": status, "is_annual": is_annual, "synergies": synergies,
            **{name: figures.get(name) for name in rules.BENEFIT_FIGURES}}


def test_benefit_tables_sum_verified_and_pending_apart():
    rows = [
        _benefit_row("verified", False, 2, tonnes_reused=Decimal("8.5"), co2e_tonnes=Decimal("1.25"),
                     eur_saved=Decimal("300.00")),
        _benefit_row("verified", True, 1, mwh_saved=Decimal("250"), co2e_tonnes=Decimal("50.50"),
                     eur_saved=12000.0),  # SQLite may hand back floats
        _benefit_row("declared", True, 1, tonnes_reused=Decimal("12"), eur_saved=Decimal("1800")),
        _benefit_row("declared", False, 1, m2_shared=Decimal("120.0")),
    ]
    out = rules.benefit_tables(rows)
    assert out["verified"]["tonnes_reused"] == Decimal("8.5")
    assert out["verified"]["co2e_tonnes"] == Decimal("51.75")
    assert out["verified"]["eur_saved"] == Decimal("12300")
    assert out["verified"]["mwh_saved"] == Decimal("250")
    assert out["verified"]["jobs"] == Decimal("0")
    assert out["verified_annual"]["co2e_tonnes"] == Decimal("50.5")
    assert out["verified_annual"]["tonnes_reused"] == Decimal("0")
    assert out["declared_pending"]["tonnes_reused"] == Decimal("12")
    assert out["declared_pending"]["m2_shared"] == Decimal("120")
    assert out["declared_pending"]["eur_saved"] == Decimal("1800")
    assert out["counts"] == {"verified": 3, "verified_annual": 1, "declared_pending": 2, "declared_pending_annual": 1}
    # Sums are shown to the columns' precision.
    assert str(out["verified"]["co2e_tonnes"]) == "51.75" and str(out["verified"]["tonnes_reused"]) == "8.500"


def test_benefit_tables_float_noise_is_rounded_to_the_column_scale():
    out = rules.benefit_tables([_benefit_row("verified", False, 2, tonnes_reused=0.1 + 0.2, jobs=0.30000000001)])
    assert str(out["verified"]["tonnes_reused"]) == "0.300" and str(out["verified"]["jobs"]) == "0.3"


# --- the map -----------------------------------------------------------------------------------


def test_pick_site_prefers_the_listing_site_then_a_site_in_scope():
    points = {1: (47.9, -3.9), 2: (48.0, -4.1), 3: (47.7, -3.4)}
    by_company = {10: [1, 2], 20: [3]}
    assert rules.pick_site(2, 10, points, by_company, in_scope={1}) == 2
    assert rules.pick_site(None, 10, points, by_company, in_scope={2}) == 2
    assert rules.pick_site(99, 10, points, by_company, in_scope=set()) == 1  # listing site without coordinates
    assert rules.pick_site(None, 20, points, by_company, in_scope={1}) == 3
    assert rules.pick_site(None, 30, points, by_company, in_scope={1}) is None
    assert rules.pick_site(None, None, points, by_company, in_scope={1}) is None


# --- names and spreadsheets --------------------------------------------------------------------


def test_slug_and_export_filename():
    assert rules.slug("Pays de Lorient") == "pays-de-lorient"
    assert rules.slug("Côte d'Émeraude / Saint-Malo") == "cote-d-emeraude-saint-malo"
    assert rules.slug("!!!") == "territoire"
    assert len(rules.slug("x" * 200)) == 40
    today = date(2025, 3, 4)
    assert rules.export_filename("Pays de Lorient", Period(date(2024, 1, 1), date(2024, 12, 31)), today, "csv") == \
        "synergies_pays-de-lorient_2024-01-01_2024-12-31.csv"
    assert rules.export_filename(None, Period(), today, "xlsx") == "synergies_tous-territoires_au-2025-03-04.xlsx"
    assert rules.export_filename(None, Period(date(2024, 1, 1)), today, "csv") == \
        "synergies_tous-territoires_depuis-2024-01-01.csv"
    assert rules.export_filename("T", Period(None, date(2024, 6, 30)), today, "csv") == "synergies_t_au-2024-06-30.csv"


@pytest.mark.parametrize("text, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+33 2 98 00 00 00", "'+33 2 98 00 00 00"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("Palettes = bois", "Palettes = bois"), ("", ""), (None, None), (12, 12),
])
def test_neutralise_formula_like_text(text, expected):
    assert rules.neutralise(text) == expected


def test_decimal_comma():
    assert rules.decimal_comma(Decimal("1234.500")) == "1234,500"
    assert rules.decimal_comma(Decimal("30.00")) == "30,00"
    assert rules.decimal_comma(Decimal("1E+3")) == "1000"
    assert rules.decimal_comma(None) == ""
