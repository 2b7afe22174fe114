"""The search page: free text with synonyms, filters with counts, distance, suggestions."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request, url_for
from sqlalchemy.orm import selectinload

from marketplace import reference
from marketplace.accounts.models import Territory
from marketplace.extensions import db
from marketplace.listings.models import PUBLIC_STATUSES, Listing
from marketplace.search import queries
from marketplace.search.backends import IndexUnavailable, get_backend
from marketplace.search.forms import SearchForm
from marketplace.search.indexing import public_listing_count
from marketplace.vocabulary import services as vocabulary_services

bp = Blueprint("search", __name__)

FILTER_ARGS = ("kind", "category", "chapter", "territory", "hazardous", "postcode", "radius_km")


def _params(form: SearchForm) -> tuple[queries.SearchParams, reference.Place | None]:
    place = reference.locate(form.value("postcode").strip()) if form.value("postcode") else None
    radius = form.value("radius_km") or 30
    territory = form.value("territory")
    hazardous = form.value("hazardous")
    params = queries.SearchParams(
        q=(form.q.data or "").strip() if not form.q.errors else "",
        kind=form.value("kind"),
        category=form.value("category"),
        chapter=form.value("chapter"),
        territory_id=int(territory) if territory else None,
        hazardous=None if hazardous is None else hazardous == "1",
        latitude=place.latitude if place else None,
        longitude=place.longitude if place else None,
        radius_km=radius if place else None,
        sort=form.value("sort"),
        page=form.value("page") or 1,
        per_page=current_app.config["LISTINGS_PER_PAGE"],
    )
    return params, place


def _thesaurus_words() -> list[str]:
    return queries.thesaurus_words(vocabulary_services.texts()["thesaurus"])


def _listings(hits) -> dict[int, Listing]:
    """The listings behind the hits, from the database (the index may lag a moment behind it)."""
    ids = [hit.listing_id for hit in hits]
    if not ids:
        return {}
    found = db.session.scalars(
        sa.select(Listing).where(Listing.id.in_(ids), Listing.status.in_(PUBLIC_STATUSES))
        .options(selectinload(Listing.company), selectinload(Listing.site))
    ).all()
    return {listing.id: listing for listing in found}


@bp.route("/recherche")
def index():
    territories = db.session.scalars(sa.select(Territory).order_by(Territory.name)).all()
    form = SearchForm(request.args, territories=territories)
    form.validate()
    params, place = _params(form)
    args = {k: v for k, v in request.args.items() if k != "page" and v and k in (*FILTER_ARGS, "q", "sort")}
    # An alert keeps what a saved search can hold: words, kind, category, territory, place.
    alert_args = {k: v for k, v in args.items() if k in ("q", "kind", "category", "territory", "postcode", "radius_km")}
    try:
        result = get_backend().search(params, vocabulary_services.current(), _thesaurus_words)
    except IndexUnavailable as exc:
        if public_listing_count():
            current_app.logger.error("search index unavailable (%s): run `flask search rebuild`", exc.reason)
            return render_template("search/index.html", form=form, args=args, unavailable=True, result=None,
                                   place=place, territories=territories, alert_args=alert_args), 503
        result = queries.SearchResult(hits=[], total=0, page=1, per_page=params.per_page, sort="newest")

    def url_with(name: str, value) -> str:
        """This search with one filter changed (None removes it), back on page 1."""
        changed = {k: v for k, v in args.items() if k != name}
        if value is not None:
            changed[name] = value
        return url_for("search.index", **changed)

    listings = _listings(result.hits)
    hits = [(hit, listings[hit.listing_id]) for hit in result.hits if hit.listing_id in listings]
    return render_template(
        "search/index.html", form=form, args=args, unavailable=False, result=result, hits=hits, place=place,
        radius_km=params.radius_km, territory_names={str(t.id): t.name for t in territories},
        chapter_label=reference.waste_chapter_label, url_with=url_with, alert_args=alert_args,
    )
