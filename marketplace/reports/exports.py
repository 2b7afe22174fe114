"""The report's exports: one row per synergy in CSV (French Excel: UTF-8 with BOM, `;` separator,
decimal comma) and in XLSX (a "Synthèse" sheet with the PNSI tables and benefit totals, a
"Synergies" sheet with the rows, numbers as numbers). Text a spreadsheet would read as a formula is
neutralised: prefixed with an apostrophe in CSV, stored as plain text (never a formula) in XLSX."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from marketplace.reports import labels, rules
from marketplace.synergies import labels as synergy_labels
from marketplace.synergies.rules import STAGES, STOPPED, reporting_group

# Columns holding free text (typed by people): the ones neutralised against formula injection.
TEXT_COLUMNS = {"title", "territory", "giver", "taker", "emission_factor_key", "emission_factor_label",
                "emission_factor_source"}
NUMBER_COLUMNS = set(rules.BENEFIT_FIGURES) | {"id", "emission_factor_value"}
DATE_COLUMNS = {"created", "stage_changed"}


def columns() -> list[tuple[str, str]]:
    """(key, heading) of every export column, in order."""
    figures = [(name, str(synergy_labels.BENEFIT_FIGURES[name])) for name in rules.BENEFIT_FIGURES]
    return ([(k, str(v)) for k, v in labels.COLUMNS.items()] + figures
            + [(k, str(v)) for k, v in labels.FACTOR_COLUMNS.items()])


def _local_day(moment: datetime | None, zone: str):
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone)).date()


def export_values(row: dict, zone: str) -> dict:
    """One synergy row of queries.synergy_rows as export values (labels translated, dates local days,
    numbers left as Decimal, text not yet neutralised)."""
    verified = row["verified_id"] is not None
    stop = row["stop_reason"]
    values = {
        "id": row["id"], "title": row["title"], "territory": row["territory"] or "",
        "giver": row["giver"] or "", "taker": row["taker"] or "", "kind": row["kind"],
        "sub_type": str(synergy_labels.SUB_TYPES.get(row["sub_type"], row["sub_type"] or "")),
        "stage": str(synergy_labels.STAGES.get(row["stage"], row["stage"])),
        "group": str(synergy_labels.REPORTING_GROUPS[reporting_group(row["stage"])]) if row["stage"] in STAGES else "",
        "stop_reason": str(synergy_labels.STOP_REASONS.get(stop, stop or "")) if row["stage"] in STOPPED else "",
        "is_continuous": str(labels.YES_NO[bool(row["is_continuous"])]),
        "created": _local_day(row["created_at"], zone), "stage_changed": _local_day(row["stage_changed_at"], zone),
        "benefit_status": str(labels.BENEFIT_STATUS["verified" if verified else
                                                    "declared" if row["has_declared"] else None]),
        "is_annual": str(labels.YES_NO[bool(row["is_annual"])]) if verified else "",
    }
    for name in rules.BENEFIT_FIGURES:
        values[name] = row[name]
    values["co2e_method"] = str(synergy_labels.CO2E_METHODS.get(row["co2e_method"], "")) if row["co2e_method"] else ""
    values["co2e_basis"] = str(synergy_labels.BENEFIT_FIGURES.get(row["co2e_basis"], "")) if row["co2e_basis"] else ""
    for name in ("emission_factor_key", "emission_factor_label", "emission_factor_unit", "emission_factor_source"):
        values[name] = row[name] or ""
    values["emission_factor_value"] = row["emission_factor_value"]
    return values


# --- CSV ---------------------------------------------------------------------------------------


def to_csv(rows: list[dict], zone: str) -> bytes:
    """UTF-8 with BOM, `;`-separated, decimal comma, dates YYYY-MM-DD: what French Excel opens as is."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    cols = columns()
    writer.writerow([heading for _, heading in cols])
    for row in rows:
        values = export_values(row, zone)
        line = []
        for key, _ in cols:
            value = values[key]
            if key in NUMBER_COLUMNS and key != "id":
                line.append(rules.decimal_comma(value))
            elif key in DATE_COLUMNS:
                line.append(value.isoformat() if value else "")
            else:
                line.append(rules.neutralise(value) if key in TEXT_COLUMNS else value)
        writer.writerow(line)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- XLSX --------------------------------------------------------------------------------------


def _text_cell(cell, value):
    """Put text in a cell so that no spreadsheet evaluates it: openpyxl writes a string starting with
    "=" as a formula, so force the string type and Excel's "quote prefix" (shown as typed, kept as
    text when edited)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if rules.is_formula_like(value):
            cell.quotePrefix = True


def to_xlsx(rows: list[dict], summary: dict, zone: str) -> bytes:
    """Two sheets: "Synthèse" (title, filters, the group × type table, stages, stop reasons, benefit
    totals) and "Synergies" (one row per synergy, numbers as numbers, dates as dates).
    `summary`: title, filters (list of (label, value)), tables and benefits, as views.report_context."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="E4EFE8")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Synthèse"

    def line(*values, style=None):
        sheet.append([None] * len(values))
        r = sheet.max_row
        for i, value in enumerate(values, start=1):
            cell = sheet.cell(row=r, column=i)
            if isinstance(value, str):
                _text_cell(cell, value)
            else:
                cell.value = value
            if style == "head":
                cell.font, cell.fill = bold, head_fill
            elif style == "bold":
                cell.font = bold
        return r

    r = line(summary["title"])
    sheet.cell(row=r, column=1).font = Font(bold=True, size=14)
    for label, value in summary["filters"]:
        line(label, value)
    if summary.get("period_rule"):
        line(summary["period_rule"])
    line()
    for block in summary["blocks"]:
        line(block["title"], style="bold")
        line(*block["header"], style="head")
        for values in block["rows"]:
            line(*values)
        if block.get("total"):
            line(*block["total"], style="bold")
        for note in block.get("notes", ()):
            line(note)
        line()
    sheet.column_dimensions["A"].width = 44
    for letter in "BCDE":
        sheet.column_dimensions[letter].width = 22

    data = workbook.create_sheet("Synergies")
    cols = columns()
    data.append([heading for _, heading in cols])
    for cell in data[1]:
        cell.font, cell.fill = bold, head_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        values = export_values(row, zone)
        data.append([None] * len(cols))
        r = data.max_row
        for i, (key, _) in enumerate(cols, start=1):
            value = values[key]
            cell = data.cell(row=r, column=i)
            if key in NUMBER_COLUMNS:
                cell.value = value  # Decimal or int: a number cell (empty when unknown)
                if key in rules.FIGURE_SCALES:
                    cell.number_format = "0." + "0" * rules.FIGURE_SCALES[key] if rules.FIGURE_SCALES[key] else "0"
            elif key in DATE_COLUMNS:
                cell.value = value
                cell.number_format = "yyyy-mm-dd"
            else:
                _text_cell(cell, value)
    data.freeze_panes = "C2"
    widths = {"title": 36, "territory": 22, "giver": 26, "taker": 26, "emission_factor_label": 30,
              "emission_factor_source": 40}
    for i, (key, _) in enumerate(cols, start=1):
        data.column_dimensions[get_column_letter(i)].width = widths.get(key, 14)
    data.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(data.max_row, 1)}"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
