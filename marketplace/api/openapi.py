"""The OpenAPI 3.1 document of /api/v1, written by hand next to the views it describes."""
from __future__ import annotations

from marketplace.listings.models import CATEGORIES, FREQUENCIES, KINDS, PRICE_MODES, STATUSES, UNITS

ERROR = {"$ref": "#/components/schemas/Error"}


def _error_responses(*codes: int) -> dict:
    text = {400: "Corps de requête illisible", 401: "Jeton manquant ou invalide", 403: "Action non permise",
            404: "Introuvable", 409: "Conflit d'état", 422: "Champs invalides", 429: "Trop de requêtes"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": ERROR}}} for c in codes}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


LISTING_INPUT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS)},
        "title": {"type": "string", "minLength": 3, "maxLength": 160},
        "description": {"type": ["string", "null"], "maxLength": 8000},
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "waste_code": {"type": ["string", "null"], "description": "Code de la liste européenne, ex. « 15 01 03 »"},
        "quantity": {"type": ["number", "null"], "minimum": 0},
        "unit": {"type": ["string", "null"], "enum": list(UNITS) + [None]},
        "frequency": {"type": "string", "enum": list(FREQUENCIES)},
        "site_id": {"type": "integer"},
        "price_mode": {"type": "string", "enum": list(PRICE_MODES)},
        "unit_price_eur": {"type": ["number", "null"], "description": "Négatif : le cédant paie le preneur"},
        "available_from": {"type": ["string", "null"], "format": "date"},
        "available_until": {"type": ["string", "null"], "format": "date"},
        "expires_on": {"type": ["string", "null"], "format": "date"},
        "submit": {"type": "boolean", "description": "Soumettre pour publication (validation ou publication directe)"},
    },
}


def document(base_url: str) -> dict:
    listing_id = {"name": "listing_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Symbiose API",
            "version": "1.0",
            "description": "Offres et besoins de ressources entre entreprises d'un territoire. "
                           "Authentification : en-tête `Authorization: Bearer <jeton>` "
                           "(jeton créé par `flask users token EMAIL`).",
        },
        "servers": [{"url": base_url.rstrip("/") + "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/listings": {
                "get": {
                    "summary": "Annonces publiées, filtrées",
                    "parameters": [
                        {"name": "kind", "in": "query", "schema": {"type": "string", "enum": list(KINDS)}},
                        {"name": "category", "in": "query", "schema": {"type": "string", "enum": list(CATEGORIES)}},
                        {"name": "territory", "in": "query", "schema": {"type": "integer"}},
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {"name": "postcode", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{5}$"}},
                        {"name": "radius_km", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                        {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                        "maximum": 100}},
                    ],
                    "responses": {"200": _json({"$ref": "#/components/schemas/ListingPage"}),
                                  **_error_responses(401, 422, 429)},
                },
                "post": {
                    "summary": "Créer une annonce pour l'entreprise du compte",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        **LISTING_INPUT, "required": ["kind", "title", "category"]}}}},
                    "responses": {"201": _json({"$ref": "#/components/schemas/Listing"}, "Créée"),
                                  **_error_responses(400, 401, 403, 422, 429)},
                },
            },
            "/listings/{listing_id}": {
                "get": {"summary": "Une annonce", "parameters": [listing_id],
                        "responses": {"200": _json({"$ref": "#/components/schemas/Listing"}),
                                      **_error_responses(401, 404, 429)}},
                "patch": {"summary": "Modifier une annonce (entreprise propriétaire)", "parameters": [listing_id],
                          "requestBody": {"required": True,
                                          "content": {"application/json": {"schema": LISTING_INPUT}}},
                          "responses": {"200": _json({"$ref": "#/components/schemas/Listing"}),
                                        **_error_responses(400, 401, 403, 404, 422, 429)}},
            },
            "/listings/{listing_id}/withdraw": {
                "post": {"summary": "Retirer une annonce", "parameters": [listing_id],
                         "responses": {"200": _json({"$ref": "#/components/schemas/Listing"}),
                                       **_error_responses(401, 403, 404, 409, 429)}},
            },
            "/listings/{listing_id}/matches": {
                "get": {"summary": "Correspondances d'une annonce (entreprise propriétaire, animateurs)",
                        "parameters": [listing_id],
                        "responses": {"200": _json({"type": "object", "properties": {"items": {
                            "type": "array", "items": {"$ref": "#/components/schemas/Match"}}}}),
                            **_error_responses(401, 403, 404, 429)}},
            },
            "/search": {
                "get": {
                    "summary": "Recherche plein texte (analyse française, synonymes, filtres, facettes)",
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                        {"name": "kind", "in": "query", "schema": {"type": "string", "enum": list(KINDS)}},
                        {"name": "category", "in": "query", "schema": {"type": "string", "enum": list(CATEGORIES)}},
                        {"name": "chapter", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{2}$"}},
                        {"name": "territory", "in": "query", "schema": {"type": "integer"}},
                        {"name": "postcode", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{5}$"}},
                        {"name": "radius_km", "in": "query", "schema": {"type": "number", "minimum": 1}},
                        {"name": "sort", "in": "query", "schema": {"type": "string",
                                                                    "enum": ["relevance", "newest", "distance"]}},
                        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                        {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                        "maximum": 100}},
                    ],
                    "responses": {"200": _json({"type": "object", "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Listing"}},
                        "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
                        "facets": {"type": "object"}, "suggestion": {"type": ["string", "null"]},
                        "synonyms": {"type": "array", "items": {"type": "string"}}}}),
                        **_error_responses(401, 422, 429), "503": {"description": "Index de recherche indisponible",
                                                                   "content": {"application/json": {"schema": ERROR}}}},
                },
            },
            "/notifications": {
                "get": {"summary": "Notifications du compte, les plus récentes d'abord",
                        "parameters": [{"name": "unread", "in": "query", "schema": {"type": "boolean"}},
                                       {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
                        "responses": {"200": _json({"type": "object", "properties": {
                            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}},
                            "total": {"type": "integer"}, "page": {"type": "integer"}}}),
                            **_error_responses(401, 422, 429)}},
            },
            "/notifications/{notification_id}/read": {
                "post": {"summary": "Marquer une notification comme lue",
                         "parameters": [{"name": "notification_id", "in": "path", "required": True,
                                         "schema": {"type": "integer"}}],
                         "responses": {"200": _json({"$ref": "#/components/schemas/Notification"}),
                                       **_error_responses(401, 404, 429)}},
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                   "fields": {"type": "object"}}}}},
                "Listing": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "ref": {"type": ["string", "null"]},
                    "kind": {"type": "string", "enum": list(KINDS)},
                    "status": {"type": "string", "enum": list(STATUSES)},
                    **{k: v for k, v in LISTING_INPUT["properties"].items() if k not in ("submit", "site_id")},
                    "is_hazardous": {"type": "boolean"},
                    "published_at": {"type": ["string", "null"], "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "company": {"type": "object", "properties": {"id": {"type": "integer"},
                                                                 "name": {"type": "string"}}},
                    "site": {"type": "object", "properties": {
                        "id": {"type": "integer"}, "postcode": {"type": "string"}, "city": {"type": "string"},
                        "latitude": {"type": ["number", "null"]}, "longitude": {"type": ["number", "null"]}}},
                    "photos": {"type": "array", "items": {"type": "string", "format": "uri"}},
                    "url": {"type": "string", "format": "uri"}}},
                "Notification": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "kind": {"type": "string",
                                                        "enum": ["match", "alert", "message", "moderation", "pending"]},
                    "title": {"type": "string"}, "body": {"type": "string"}, "link": {"type": "string"},
                    "listing_id": {"type": ["integer", "null"]},
                    "created_at": {"type": "string", "format": "date-time"},
                    "read_at": {"type": ["string", "null"], "format": "date-time"}}},
                "ListingPage": {"type": "object", "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Listing"}},
                    "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
                    "pages": {"type": "integer"}}},
                "Match": {"type": "object", "properties": {
                    "listing": {"type": "object", "properties": {
                        "id": {"type": "integer"}, "ref": {"type": ["string", "null"]}, "kind": {"type": "string"},
                        "title": {"type": "string"}, "company": {"type": "string"}, "city": {"type": "string"}}},
                    "score": {"type": "number"},
                    "reasons": {"type": "array", "items": {"type": "string"}},
                    "found_at": {"type": "string", "format": "date-time"}}},
            },
        },
    }
