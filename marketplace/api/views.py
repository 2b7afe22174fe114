"""/api/v1: listings (list, create, read, update, withdraw), their matches, the OpenAPI document.
Thin views: the same forms validate the input and the same services change state as in the web pages."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.datastructures import MultiDict

from marketplace.api import errors, params, serializers
from marketplace.api.auth import require_token
from marketplace.api.errors import ApiError
from marketplace.api.openapi import LISTING_INPUT, document
from marketplace.extensions import csrf, db, limiter
from marketplace.listings import services as listing_services
from marketplace.listings.forms import ListingForm
from marketplace.listings.models import CATEGORIES, KINDS, Listing
from marketplace.listings.queries import BrowseFilters, browse_query

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
errors.register(bp)
limiter.limit("300 per minute")(bp)

LISTING_FIELDS = {"kind", "title", "description", "category", "waste_code", "quantity", "unit", "frequency",
                  "site_id", "price_mode", "unit_price_eur", "available_from", "available_until", "expires_on"}


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "Le corps de la requête doit être un objet JSON.")
    unknown = sorted(set(body) - LISTING_FIELDS - {"submit"})
    if unknown:
        raise ApiError(422, "unknown_fields", "Champs inconnus.", {k: "champ inconnu" for k in unknown})
    wrong = {key: "attendu : " + " ou ".join(JSON_TYPE_NAMES[t] for t in _types(key))
             for key, value in body.items() if not any(_is_json_type(value, t) for t in _types(key))}
    if wrong:  # the document's types: "12" is not a number, 1 is not a title
        raise ApiError(422, "invalid", "Valeur invalide.", wrong)
    unknown_values = {key: "l'une des valeurs " + ", ".join(str(v) for v in enum if v is not None)
                      for key, value in body.items()
                      if (enum := LISTING_INPUT["properties"][key].get("enum")) is not None and value not in enum}
    if unknown_values:  # "" is not a unit, whereas null says "no unit"
        raise ApiError(422, "invalid", "Valeur invalide.", unknown_values)
    for key, value in body.items():
        if isinstance(value, str) and "\x00" in value:  # PostgreSQL text cannot hold it: never a 500
            raise ApiError(422, "invalid", "Valeur invalide.", {key: "caractère nul interdit"})
    return body


JSON_TYPE_NAMES = {"string": "une chaîne", "number": "un nombre", "integer": "un entier", "boolean": "true ou false",
                   "null": "null"}


def _types(key: str) -> list[str]:
    declared = LISTING_INPUT["properties"][key]["type"]
    return [declared] if isinstance(declared, str) else declared


def _is_json_type(value, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if name == "integer" else isinstance(value, (int, float))


def _form(body: dict, company, current: Listing | None = None) -> ListingForm:
    data = {}
    if current is not None:  # PATCH: start from the stored values
        for key in LISTING_FIELDS - {"site_id"}:
            value = getattr(current, key)
            data[key] = "" if value is None else str(value)
        data["site_id"] = str(current.site_id)
    elif company.sites:
        data["site_id"] = str(company.sites[0].id)
    data.setdefault("frequency", "once")
    data.setdefault("price_mode", "negotiable")
    for key, value in body.items():
        if key in LISTING_FIELDS:
            data[key] = "" if value is None else str(value)
    form = ListingForm(formdata=MultiDict(data), sites=company.sites, meta={"csrf": False})
    if not form.validate():
        fields = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
        raise ApiError(422, "invalid", "Certains champs sont invalides.", fields)
    return form


def _listing(listing_id: int) -> Listing:
    listing = db.session.get(Listing, listing_id)
    if listing is None or not listing.can_view(g.api_user):
        raise ApiError(404, "not_found", "Annonce introuvable.")
    return listing


@bp.get("/listings")
@require_token
def list_listings():
    page = params.integer("page", 1, maximum=params.MAX_PAGE)
    per_page = params.integer("per_page", 20, maximum=100)
    filters = BrowseFilters(kind=params.choice("kind", KINDS), category=params.choice("category", CATEGORIES),
                            territory_id=params.integer("territory"), q=params.text("q", 200),
                            postcode=params.pattern("postcode", r"[0-9]{5}", "5 chiffres"),
                            radius_km=params.integer("radius_km", maximum=params.MAX_RADIUS_KM))
    query, _place = browse_query(filters)
    pagination = db.paginate(query, page=page, per_page=per_page, error_out=False)
    return jsonify(serializers.page([serializers.listing(item) for item in pagination.items], pagination))


@bp.post("/listings")
@require_token
def create_listing():
    user = g.api_user
    if user.company is None:
        raise ApiError(403, "forbidden", "Ce compte n'est rattaché à aucune entreprise.")
    body = _json_body()
    form = _form(body, user.company)
    site = next(s for s in user.company.sites if s.id == form.site_id.data)
    listing = listing_services.create(user, user.company, site, form.data)
    if body.get("submit") is True:
        _submit(user, listing)
    db.session.commit()
    return jsonify(serializers.listing(listing)), 201


def _submit(user, listing) -> None:
    try:
        listing_services.submit(user, listing)
    except listing_services.CompanyRefused:
        db.session.rollback()  # nothing is saved: the request is refused as a whole
        raise ApiError(409, "company_refused", "L'entreprise a été refusée par l'animateur·rice du territoire : "
                                               "ses annonces ne peuvent pas être publiées.")


@bp.get("/listings/<int:listing_id>")
@require_token
def get_listing(listing_id):
    return jsonify(serializers.listing(_listing(listing_id)))


@bp.patch("/listings/<int:listing_id>")
@require_token
def update_listing(listing_id):
    listing = _listing(listing_id)
    if not listing.can_edit(g.api_user):
        raise ApiError(403, "forbidden", "Seule l'entreprise qui a publié l'annonce peut la modifier.")
    body = _json_body()
    form = _form(body, listing.company, current=listing)
    site = next(s for s in listing.company.sites if s.id == form.site_id.data)
    listing_services.update(g.api_user, listing, site, form.data)
    if body.get("submit") is True and listing.status in ("draft", "expired", "withdrawn"):
        _submit(g.api_user, listing)
    db.session.commit()
    return jsonify(serializers.listing(listing))


@bp.post("/listings/<int:listing_id>/withdraw")
@require_token
def withdraw_listing(listing_id):
    listing = _listing(listing_id)
    if not listing.is_owned_by(g.api_user):
        raise ApiError(403, "forbidden", "Seule l'entreprise qui a publié l'annonce peut la retirer.")
    try:
        listing_services.change_status(g.api_user, listing, "withdraw")
    except listing_services.TransitionError:
        raise ApiError(409, "conflict", f"Une annonce « {listing.status} » ne peut pas être retirée.")
    db.session.commit()
    return jsonify(serializers.listing(listing))


@bp.get("/listings/<int:listing_id>/matches")
@require_token
def listing_matches(listing_id):
    from marketplace.matching.services import matches_for

    listing = _listing(listing_id)
    user = g.api_user
    if not (listing.is_owned_by(user) or user.moderates_site(listing.site)):
        raise ApiError(403, "forbidden", "Les correspondances sont visibles de l'entreprise et des animateurs.")
    return jsonify({"items": [serializers.match(m, listing) for m in matches_for(listing)]})


@bp.get("/search")
@require_token
def search():
    """Full-text search with the same analysis, synonyms, filters and facets as the search page."""
    from marketplace import reference
    from marketplace.search import queries
    from marketplace.search.backends import IndexUnavailable, get_backend
    from marketplace.vocabulary import services as vocabulary_services

    q = params.text("q", 200) or ""
    kind, category = params.choice("kind", KINDS), params.choice("category", CATEGORIES)
    chapter = params.pattern("chapter", r"[0-9]{2}", "2 chiffres")
    territory = params.integer("territory")
    postcode = params.pattern("postcode", r"[0-9]{5}", "5 chiffres")
    radius = params.number("radius_km", 30, minimum=1, maximum=params.MAX_RADIUS_KM)
    sort = params.choice("sort", ("relevance", "newest", "distance"))
    page = params.integer("page", 1, maximum=params.MAX_PAGE)
    per_page = params.integer("per_page", 20, maximum=100)
    place = reference.locate(postcode) if postcode else None
    if postcode and place is None:
        raise ApiError(422, "invalid", "Code postal inconnu.", {"postcode": "code postal inconnu"})
    search_params = queries.SearchParams(
        q=q, kind=kind, category=category, chapter=chapter, territory_id=territory,
        latitude=place.latitude if place else None, longitude=place.longitude if place else None,
        radius_km=radius if place else None, sort=sort, page=page, per_page=per_page)
    try:
        result = get_backend().search(search_params, vocabulary_services.current())
    except IndexUnavailable:
        raise ApiError(503, "search_unavailable",
                       "L'index de recherche est indisponible : un administrateur doit lancer flask search rebuild.")
    found = {item.id: item for item in db.session.scalars(
        sa.select(Listing).where(Listing.id.in_([h.listing_id for h in result.hits]),
                                 Listing.status.in_(("published", "reserved"))))} if result.hits else {}
    items = [{**serializers.listing(found[h.listing_id]), "snippet": str(h.snippet), "distance_km": h.distance_km}
             for h in result.hits if h.listing_id in found]
    return jsonify({"items": items, "page": result.page, "per_page": result.per_page, "total": result.total,
                    "facets": result.facets, "suggestion": result.suggestion, "synonyms": result.expanded})


@bp.get("/notifications")
@require_token
def notifications():
    """The caller's in-app notifications, newest first (`unread=1` for the unread ones only)."""
    from marketplace.notifications.models import Notification

    query = sa.select(Notification).where(Notification.user_id == g.api_user.id)
    if params.boolean("unread"):
        query = query.where(Notification.read_at.is_(None))
    page = params.integer("page", 1, maximum=params.MAX_PAGE)
    pagination = db.paginate(query.order_by(Notification.created_at.desc(), Notification.id.desc()),
                             page=page, per_page=50, error_out=False)
    return jsonify(serializers.page([serializers.notification(n) for n in pagination.items], pagination))


@bp.post("/notifications/<int:notification_id>/read")
@require_token
def read_notification(notification_id):
    from marketplace.notifications.models import Notification
    from marketplace.notifications.services import mark_read

    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != g.api_user.id:
        raise ApiError(404, "not_found", "Notification introuvable.")
    mark_read(notification)
    db.session.commit()
    return jsonify(serializers.notification(notification))


@bp.get("/openapi.json")
def openapi():
    return jsonify(document(current_app.config["BASE_URL"]))


# Auctions, rounds and synergies add their routes to this blueprint.
from marketplace.api import auctions as _auctions  # noqa: E402,F401
