"""/animation/rapports: the territory reports dashboard (PNSI tables, benefit totals, charts, map) and
its CSV and XLSX exports, for practitioners (on the territories they run) and administrators.
Thin: read the filters, fetch through queries.py, shape through rules.py, render or export."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.practitioner.views import require_practitioner
from marketplace.reports import exports, labels, queries, rules
from marketplace.synergies import labels as synergy_labels
from marketplace.synergies.rules import KINDS, STOPPED
from marketplace.synergies.services import local_today

bp = Blueprint("reports", __name__, url_prefix="/animation/rapports")


def _zone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def _read_filters():
    """(filters, territories the person may report on, chosen territory or None). A territory that is
    not one of theirs (or does not exist) is a 404, as everywhere else."""
    require_practitioner()
    filters = rules.parse_filters(request.args)
    territories = queries.territories_for(current_user)
    territory = None
    if filters.territory_id is not None:
        territory = next((t for t in territories if t.id == filters.territory_id), None)
        if territory is None:
            abort(404)
    return filters, territories, territory


def _report(filters, territories, territory) -> dict:
    scope = queries.scope_for(current_user, territories, territory, filters.period, _zone())
    tables = rules.synergy_tables(queries.synergy_counts(scope))
    benefits = rules.benefit_tables(queries.benefit_rows(scope))
    return {"scope": scope, "tables": tables, "benefits": benefits}


def _filter_lines(filters, territory) -> list[tuple[str, str]]:
    from marketplace.labels import format_date

    period = filters.period
    if period.start and period.end:
        when = _("du %(start)s au %(end)s", start=format_date(period.start), end=format_date(period.end))
    elif period.start:
        when = _("depuis le %(start)s", start=format_date(period.start))
    elif period.end:
        when = _("jusqu'au %(end)s", end=format_date(period.end))
    else:
        when = _("toutes les synergies, sans limite de dates")
    return [(_("Territoire"), territory.name if territory else _("Tous vos territoires")),
            (_("Période"), when), (_("Établi le"), format_date(local_today()))]


@bp.route("")
@login_required
def dashboard():
    filters, territories, territory = _read_filters()
    report = _report(filters, territories, territory)
    tables, benefits = report["tables"], report["benefits"]
    group_names = {g: str(n) for g, n in synergy_labels.REPORTING_GROUPS.items()}
    chart_data = {
        "groups": {"labels": list(group_names.values()),
                   "datasets": [{"label": f"{kind} · {synergy_labels.KINDS[kind]}",
                                 "data": [tables["groups"][g][kind] for g in group_names]} for kind in KINDS],
                   "title": _("Synergies par groupe de suivi et par type")},
        "benefits": {"labels": [str(labels.CHART_FIGURES[n]) for n in rules.CHART_FIGURES],
                     "datasets": [{"label": str(labels.BENEFIT_BUCKETS["verified"]),
                                   "data": [float(benefits["verified"][n]) for n in rules.CHART_FIGURES]},
                                  {"label": str(labels.BENEFIT_BUCKETS["declared_pending"]),
                                   "data": [float(benefits["declared_pending"][n]) for n in rules.CHART_FIGURES]}],
                     "title": _("Principaux bénéfices (tonnes et MWh)")},
        "map": queries.map_data(report["scope"]),
        "words": {"companies": _("Entreprises (sites)"), "resources": _("Ressources publiées"),
                  "synergies": _("Synergies"), "offers": _("offre(s)"), "needs": _("besoin(s)"),
                  "groups": group_names, "listing_url": url_for("listings.show", listing_id=0),
                  "synergy_url": url_for("synergies.show", synergy_id=0)},
    }
    export_args = rules.filter_args(territory.id if territory else None, filters.period)
    return render_template(
        "reports/dashboard.html", filters=filters, territories=territories, territory=territory,
        problems=[labels.PROBLEMS[p] for p in filters.problems], tables=tables, benefits=benefits,
        chart_data=chart_data, export_args=export_args, figures=rules.BENEFIT_FIGURES,
        filter_lines=_filter_lines(filters, territory), stopped=STOPPED, kinds=KINDS,
        no_reason=labels.NO_REASON, buckets=labels.BENEFIT_BUCKETS,
        period_rule=period_rule_text())


def _export_or_400():
    """Filters for an export: like the dashboard's, but a value that does not read is refused (400,
    with the reason in plain text) rather than silently dropped."""
    filters, territories, territory = _read_filters()
    if filters.problems:
        message = "\n".join(str(labels.EXPORT_PROBLEMS[p]) for p in filters.problems)
        return None, Response(message + "\n", status=400, mimetype="text/plain")
    return (filters, territories, territory), None


def _attachment(content: bytes, mimetype: str, filters, territory, extension: str) -> Response:
    response = Response(content, mimetype=mimetype)
    name = rules.export_filename(territory.name if territory else None, filters.period, local_today(), extension)
    response.headers.set("Content-Disposition", "attachment", filename=name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/export.csv")
@login_required
def export_csv():
    read, refused = _export_or_400()
    if refused is not None:
        return refused
    filters, territories, territory = read
    scope = queries.scope_for(current_user, territories, territory, filters.period, _zone())
    content = exports.to_csv(queries.synergy_rows(scope), _zone())
    return _attachment(content, "text/csv; charset=utf-8", filters, territory, "csv")


@bp.route("/export.xlsx")
@login_required
def export_xlsx():
    read, refused = _export_or_400()
    if refused is not None:
        return refused
    filters, territories, territory = read
    report = _report(filters, territories, territory)
    summary = _summary(report, filters, territory)
    content = exports.to_xlsx(queries.synergy_rows(report["scope"]), summary, _zone())
    return _attachment(content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       filters, territory, "xlsx")


def _summary(report, filters, territory) -> dict:
    """The "Synthèse" sheet's blocks: the same tables as the dashboard, as plain rows."""
    tables, benefits = report["tables"], report["benefits"]
    kinds_header = [*KINDS, _("Total")]
    groups = {
        "title": _("Synergies par groupe de suivi et par type"),
        "header": [_("Groupe"), *kinds_header],
        "rows": [[str(synergy_labels.REPORTING_GROUPS[g]), *(line[k] for k in KINDS), line["total"]]
                 for g, line in tables["groups"].items()],
        "total": [_("Total"), *(tables["groups_total"][k] for k in KINDS), tables["groups_total"]["total"]],
    }
    stages = {
        "title": _("Détail par étape"),
        "header": [_("Étape"), *kinds_header],
        "rows": [[str(synergy_labels.STAGES[s]), *(line[k] for k in KINDS), line["total"]]
                 for s, line in tables["stages"].items()],
        "total": [_("Total"), *(tables["groups_total"][k] for k in KINDS), tables["groups_total"]["total"]],
    }
    reasons = {
        "title": _("Synergies bloquées ou abandonnées, par motif"),
        "header": [_("Motif"), *(str(synergy_labels.STAGES[s]) for s in STOPPED), _("Total")],
        "rows": [[str(synergy_labels.STOP_REASONS[r]) if r else str(labels.NO_REASON),
                  *(line[s] for s in STOPPED), line["total"]] for r, line in tables["stop_reasons"].items()],
        "total": [_("Total"), *(tables["stop_total"][s] for s in STOPPED), tables["stop_total"]["total"]],
    }
    figures = {
        "title": _("Bénéfices"),
        "header": [_("Bénéfice"), *(str(labels.BENEFIT_BUCKETS[b]) for b in
                                    ("verified", "verified_annual", "declared_pending"))],
        "rows": [[str(synergy_labels.BENEFIT_FIGURES[n]), benefits["verified"][n], benefits["verified_annual"][n],
                  benefits["declared_pending"][n]] for n in rules.BENEFIT_FIGURES],
        "total": [_("Synergies concernées"), benefits["counts"]["verified"], benefits["counts"]["verified_annual"],
                  benefits["counts"]["declared_pending"]],
        "notes": [_("Pour une synergie continue, les chiffres sont annuels (par an) ; pour une synergie "
                    "ponctuelle, ce sont des totaux."),
                  _("Déclarés, pas encore vérifiés : chiffres déclarés des synergies qui n'ont pas encore de "
                    "bénéfices vérifiés ; ils ne sont pas comptés dans les vérifiés.")],
    }
    return {"title": _("Rapport des synergies"), "filters": _filter_lines(filters, territory),
            "blocks": [groups, stages, reasons, figures], "period_rule": period_rule_text()}


def period_rule_text() -> str:
    return _("Une synergie compte dans la période si elle a été créée au plus tard le dernier jour de la "
             "période et si elle était encore ouverte au premier jour (ni achevée ni abandonnée avant le "
             "début de la période). Sans période, toutes les synergies comptent. L'étape prise en compte est "
             "l'étape actuelle de chaque synergie.")
