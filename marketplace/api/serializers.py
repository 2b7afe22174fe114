"""JSON shapes of the API resources (kept in one place: the OpenAPI document describes them)."""
from __future__ import annotations

from flask import url_for

from marketplace.matching.explain import reasons_text


def _iso(value):
    return value.isoformat() if value else None


def listing(item) -> dict:
    return {
        "id": item.id,
        "ref": item.ref,
        "kind": item.kind,
        "status": item.status,
        "title": item.title,
        "description": item.description,
        "category": item.category,
        "waste_code": item.waste_code,
        "is_hazardous": item.is_hazardous,
        "quantity": float(item.quantity) if item.quantity is not None else None,
        "unit": item.unit,
        "frequency": item.frequency,
        "price_mode": item.price_mode,
        "unit_price_eur": float(item.unit_price_eur) if item.unit_price_eur is not None else None,
        "available_from": _iso(item.available_from),
        "available_until": _iso(item.available_until),
        "expires_on": _iso(item.expires_on),
        "published_at": _iso(item.published_at),
        "updated_at": _iso(item.updated_at),
        "company": {"id": item.company_id, "name": item.company.name},
        "site": {"id": item.site_id, "postcode": item.site.postcode, "city": item.site.city,
                 "latitude": item.site.latitude, "longitude": item.site.longitude},
        "photos": [url_for("listings.photo", filename=p.filename, _external=True) for p in item.photos],
        "url": url_for("listings.show", listing_id=item.id, _external=True),
    }


def match(item, subject) -> dict:
    other = item.other(subject)
    return {
        "listing": {"id": other.id, "ref": other.ref, "kind": other.kind, "title": other.title,
                    "company": other.company.name, "city": other.site.city},
        "score": item.score,
        "reasons": reasons_text(item.reasons),
        "found_at": _iso(item.created_at),
    }


def notification(item) -> dict:
    return {"id": item.id, "kind": item.kind, "title": item.title, "body": item.body, "link": item.link,
            "listing_id": item.listing_id, "created_at": _iso(item.created_at), "read_at": _iso(item.read_at)}


def page(items: list, pagination) -> dict:
    return {"items": items, "page": pagination.page, "per_page": pagination.per_page, "total": pagination.total,
            "pages": pagination.pages}
