"""The OpenAPI 3.1 document of /api/v1, written by hand next to the views it describes."""
from __future__ import annotations

import copy

from marketplace.api.params import MAX_ID, MAX_PAGE, MAX_RADIUS_KM
from marketplace.auctions.models import (
    AWARD_STATUSES,
    BID_STATUSES,
    LOT_STATUSES,
    ROUND_KINDS,
    ROUND_STATUSES,
    SESSION_STATUSES,
)
from marketplace.auctions.rules import MODES, RETRACT_REASONS
from marketplace.listings.models import CATEGORIES, FREQUENCIES, KINDS, PRICE_MODES, STATUSES, UNITS
from marketplace.synergies import rules as synergy_rules
from marketplace.synergies.models import KINDS as SYNERGY_KINDS
from marketplace.synergies.models import ORIGINS as SYNERGY_ORIGINS
from marketplace.synergies.models import STAGES as SYNERGY_STAGES
from marketplace.synergies.services import BENEFIT_FIGURES

ERROR = {"$ref": "#/components/schemas/Error"}
# Query parameters: the API refuses (422) what falls outside these bounds (marketplace/api/params.py).
PAGE = {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}}
TERRITORY = {"name": "territory", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}


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
    doc = _listings_document(base_url)
    doc["paths"].update(copy.deepcopy(AUCTION_PATHS))
    doc["components"]["schemas"].update(AUCTION_SCHEMAS)
    # Any request, a read too, is refused with a 400 when its query or body holds a NUL character
    # (marketplace/__init__.py, _refuse_nul_characters).
    for item in doc["paths"].values():
        for operation in item.values():
            operation["responses"].setdefault("400", {
                "description": "Requête illisible (caractère nul, corps qui n'est pas du JSON)",
                "content": {"application/json": {"schema": ERROR}}})
    return doc


def _listings_document(base_url: str) -> dict:
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
                        TERRITORY,
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {"name": "postcode", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{5}$"}},
                        {"name": "radius_km", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                         "maximum": MAX_RADIUS_KM}},
                        PAGE,
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
                        TERRITORY,
                        {"name": "postcode", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{5}$"}},
                        {"name": "radius_km", "in": "query", "schema": {"type": "number", "minimum": 1,
                                                                         "maximum": MAX_RADIUS_KM}},
                        {"name": "sort", "in": "query", "schema": {"type": "string",
                                                                    "enum": ["relevance", "newest", "distance"]}},
                        PAGE,
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
                                       PAGE],
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
                    "id": {"type": "integer"}, "kind": {"type": "string", "enum": [
                        "match", "alert", "message", "moderation", "pending", "auction"]},
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


# --- auctions, follow-up rounds, synergies --------------------------------------------------------------


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _items(name: str, **extra) -> dict:
    return {"type": "object", "properties": {"items": {"type": "array", "items": _ref(name)}, **extra}}


NUMBER = {"type": "number"}
NULLABLE_NUMBER = {"type": ["number", "null"]}
DATETIME = {"type": "string", "format": "date-time"}
NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}
COMPANY = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
DECIMAL_INPUT = {"type": ["number", "string", "null"], "pattern": "^[+-]?[0-9][0-9 \u202f]*([.,][0-9]+)?$",
                 "description": "Nombre JSON ou chaîne décimale (« 12.5 » ou « 12,5 »)"}

AUCTION_PATHS = {
    "/auctions": {
        "get": {"summary": "Sessions d'enchères visibles : animées, où l'entreprise est invitée ou cède un lot",
                "responses": {"200": _json(_items("AuctionSession")), **_error_responses(401, 429)}},
    },
    "/auctions/{session_id}": {
        "get": {"summary": "Une session (les participants : pour ses animateurs seulement)",
                "parameters": [_path_id("session_id")],
                "responses": {"200": _json(_ref("AuctionSession")), **_error_responses(401, 404, 429)}},
    },
    "/auctions/{session_id}/lots": {
        "get": {"summary": "Lots de la session, tous rounds, tels que l'appelant peut les voir "
                           "(meilleure offre seulement hors pli ou après clôture, prix de réserve pour le cédant "
                           "et les animateurs seulement)",
                "parameters": [_path_id("session_id")],
                "responses": {"200": _json(_items("Lot")), **_error_responses(401, 404, 429)}},
    },
    "/lots/{lot_id}": {
        "get": {"summary": "Un lot", "parameters": [_path_id("lot_id")],
                "responses": {"200": _json(_ref("Lot")), **_error_responses(401, 404, 429)}},
    },
    "/lots/{lot_id}/bids": {
        "get": {"summary": "Enchères du lot : toutes pour le cédant et les animateurs (sous pli : après clôture), "
                           "sinon celles de l'entreprise de l'appelant",
                "parameters": [_path_id("lot_id")],
                "responses": {"200": _json(_items("Bid", all_bids={"type": "boolean"})),
                              **_error_responses(401, 404, 429)}},
        "post": {
            "summary": "Enchérir : un prix par unité signé et une quantité, ou un intérêt sans prix",
            "description": "Une nouvelle enchère de l'entreprise remplace la précédente sur le lot. Rejouer la "
                           "requête avec le même en-tête `Idempotency-Key` renvoie l'enchère déjà enregistrée "
                           "(200) au lieu d'en créer une seconde (201). Limité par personne "
                           "(réglage AUCTION_BID_RATE_LIMIT). 403 : l'entreprise ne peut pas enchérir sur ce lot "
                           "(no_company, own_lot, not_invited, not_checked_in, not_eligible) ; 409 : le lot ne "
                           "reçoit pas d'enchères (not_open) ; 422 : champs invalides.",
            "parameters": [_path_id("lot_id"),
                           {"name": "Idempotency-Key", "in": "header", "required": False,
                            "schema": {"type": "string", "maxLength": 64, "pattern": "^[!-~]([ -~]{0,62}[!-~])?$"},
                            "description": "Clé choisie par le client, une par enchère voulue"}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("BidInput")}}},
            "responses": {"201": _json(_ref("Bid"), "Enchère enregistrée"),
                          "200": _json(_ref("Bid"), "Enchère déjà enregistrée sous cette clé"),
                          **_error_responses(400, 401, 403, 404, 409, 422, 429)},
        },
    },
    "/bids/{bid_id}/retract": {
        "post": {"summary": "Retirer l'enchère de son entreprise pendant que le lot est ouvert, pour un motif",
                 "parameters": [_path_id("bid_id")],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "additionalProperties": False, "required": ["reason"],
                     "properties": {"reason": {"type": "string", "enum": list(RETRACT_REASONS)},
                                    "note": {"type": ["string", "null"], "maxLength": 500}}}}}},
                 "responses": {"200": _json(_ref("Bid")), **_error_responses(400, 401, 404, 409, 422, 429)}},
    },
    "/lots/{lot_id}/close": {
        "post": {"summary": "Clore les enchères d'un lot (animateur·rice de la session) : l'attribution est "
                            "proposée au cédant. Un lot déjà clos n'est pas modifié (closed: false).",
                 "parameters": [_path_id("lot_id")],
                 "responses": {"200": _json({"type": "object", "properties": {
                     "closed": {"type": "boolean"}, "lot": _ref("Lot")}}),
                     **_error_responses(401, 403, 404, 409, 429)}},
    },
    "/awards/{award_id}": {
        "post": {"summary": "Confirmer (engageant : une synergie est créée) ou décliner une attribution "
                            "(entreprise cédante). Une attribution se décide une fois (decided: false ensuite).",
                 "parameters": [_path_id("award_id")],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "additionalProperties": False, "required": ["decision"],
                     "properties": {"decision": {"type": "string", "enum": ["confirm", "decline"]},
                                    "reason": {"type": ["string", "null"], "maxLength": 500}}}}}},
                 "responses": {"200": _json({"type": "object", "properties": {
                     "decided": {"type": "boolean"}, "award": _ref("Award"),
                     "synergy_id": {"type": ["integer", "null"]}}}),
                     **_error_responses(400, 401, 403, 404, 409, 422, 429)}},
    },
    "/rounds": {
        "get": {"summary": "Deuxièmes rounds visibles (animés, où l'entreprise cède un lot ou peut enchérir), "
                           "avec les lots que l'appelant peut voir",
                "responses": {"200": _json({"type": "object", "properties": {"items": {"type": "array", "items": {
                    "allOf": [_ref("Round"), {"type": "object", "properties": {
                        "session": {"type": "object", "properties": {"id": {"type": "integer"},
                                                                     "title": {"type": "string"}}},
                        "lots": {"type": "array", "items": _ref("Lot")}}}]}}}}),
                    **_error_responses(401, 429)}},
    },
    "/synergies": {
        "get": {"summary": "Synergies de l'entreprise de l'appelant et des territoires qu'il anime (toutes : "
                           "administrateurs), les plus récentes d'abord, 50 par page",
                "parameters": [PAGE],
                "responses": {"200": _json({"type": "object", "properties": {
                    "items": {"type": "array", "items": _ref("Synergy")}, "page": {"type": "integer"},
                    "per_page": {"type": "integer"}, "total": {"type": "integer"}, "pages": {"type": "integer"}}}),
                    **_error_responses(401, 422, 429)}},
    },
    "/synergies/{synergy_id}": {
        "get": {"summary": "Une synergie (les deux entreprises, les animateurs du territoire, les administrateurs)",
                "parameters": [_path_id("synergy_id")],
                "responses": {"200": _json(_ref("Synergy")), **_error_responses(401, 404, 429)}},
    },
}

AUCTION_SCHEMAS = {
    "Round": {"type": "object", "properties": {
        "id": {"type": "integer"}, "session_id": {"type": "integer"}, "number": {"type": "integer"},
        "kind": {"type": "string", "enum": list(ROUND_KINDS)}, "mode": {"type": "string", "enum": list(MODES)},
        "status": {"type": "string", "enum": list(ROUND_STATUSES)}, "opens_at": NULLABLE_DATETIME,
        "closes_at": NULLABLE_DATETIME, "radius_km": NULLABLE_NUMBER}},
    "AuctionSession": {"type": "object", "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "description": {"type": "string"},
        "mode": {"type": "string", "enum": list(MODES)}, "status": {"type": "string", "enum": list(SESSION_STATUSES)},
        "starts_at": DATETIME, "place": {"type": "string"}, "is_online": {"type": "boolean"},
        "opened_at": NULLABLE_DATETIME, "closed_at": NULLABLE_DATETIME,
        "territory": COMPANY, "current_lot_id": {"type": ["integer", "null"],
                                                 "description": "Salle en direct : le lot à l'écran"},
        "rounds": {"type": "array", "items": _ref("Round")},
        "you": {"type": "object", "properties": {"runs": {"type": "boolean"}, "invited": {"type": "boolean"},
                                                 "checked_in": {"type": "boolean"}}},
        "participants": {"type": "array", "description": "Animateurs de la session seulement", "items": {
            "type": "object", "properties": {"company": COMPANY, "invited_at": DATETIME,
                                             "checked_in_at": NULLABLE_DATETIME}}},
        "url": {"type": "string", "format": "uri"}}},
    "Lot": {"type": "object", "properties": {
        "id": {"type": "integer"}, "session_id": {"type": "integer"}, "round": _ref("Round"),
        "parent_lot_id": {"type": ["integer", "null"]}, "position": {"type": "integer"},
        "status": {"type": "string", "enum": list(LOT_STATUSES)},
        "listing": {"type": "object", "properties": {
            "id": {"type": "integer"}, "title": {"type": "string"}, "category": {"type": "string"},
            "waste_code": {"type": ["string", "null"]}, "is_hazardous": {"type": "boolean"}, "company": COMPANY,
            "postcode": {"type": "string"}, "city": {"type": "string"}}},
        "quantity": NUMBER, "quantity_remaining": NUMBER, "unit": {"type": "string"},
        "allow_partial": {"type": "boolean"}, "min_take": NULLABLE_NUMBER,
        "pickup_from": {"type": ["string", "null"], "format": "date"},
        "pickup_until": {"type": ["string", "null"], "format": "date"}, "note": {"type": "string"},
        "closes_at": NULLABLE_DATETIME, "presented_at": NULLABLE_DATETIME, "closed_at": NULLABLE_DATETIME,
        "bid_count": {"type": "integer", "description": "Absent tant qu'un lot sous pli est ouvert"},
        "best_bid": {"type": ["object", "null"],
                     "description": "null sous pli tant que le lot est ouvert ; company : cédant et animateurs",
                     "properties": {"unit_price_eur": NULLABLE_NUMBER, "quantity": NUMBER,
                                    "is_interest": {"type": "boolean"}, "placed_at": DATETIME,
                                    "yours": {"type": "boolean"}, "company": COMPANY}},
        "reserve_unit_price_eur": {"type": ["number", "null"],
                                   "description": "Cédant et animateurs seulement (absent sinon)"},
        "your_bid": {"oneOf": [_ref("Bid"), {"type": "null"}]},
        "bidding": {"type": ["object", "null"], "description": "Lot ouvert : l'appelant peut-il enchérir, sinon pourquoi",
                    "properties": {"allowed": {"type": "boolean"}, "reason": {"type": ["string", "null"], "enum": [
                        "no_company", "own_lot", "not_invited", "not_checked_in", "not_eligible", None]}}},
        "awards": {"type": "array", "items": _ref("Award"),
                   "description": "Toutes pour le cédant et les animateurs ; les siennes pour un enchérisseur"},
        "url": {"type": "string", "format": "uri"}}},
    "BidInput": {"type": "object", "additionalProperties": False, "required": ["quantity"], "properties": {
        "unit_price_eur": {**DECIMAL_INPUT, "description": "Prix par unité, au centime ; négatif : le cédant paie "
                                                          "le preneur ; null avec interest: true"},
        "quantity": {**DECIMAL_INPUT, "description": "Quantité, au millième ; le lot entier s'il ne se divise pas"},
        "message": {"type": ["string", "null"], "maxLength": 2000},
        "interest": {"type": "boolean", "description": "Intérêt sans prix (à négocier)"}}},
    "Bid": {"type": "object", "properties": {
        "id": {"type": "integer"}, "lot_id": {"type": "integer"}, "unit_price_eur": NULLABLE_NUMBER,
        "is_interest": {"type": "boolean"}, "quantity": NUMBER, "message": {"type": "string"},
        "status": {"type": "string", "enum": list(BID_STATUSES)}, "placed_at": DATETIME,
        "retracted_at": NULLABLE_DATETIME,
        "retract_reason": {"type": ["string", "null"], "enum": [*RETRACT_REASONS, None]}, "company": COMPANY}},
    "Award": {"type": "object", "properties": {
        "id": {"type": "integer"}, "lot_id": {"type": "integer"}, "bid_id": {"type": "integer"}, "company": COMPANY,
        "quantity": NUMBER, "unit_price_eur": NULLABLE_NUMBER,
        "status": {"type": "string", "enum": list(AWARD_STATUSES)}, "proposed_at": DATETIME,
        "decided_at": NULLABLE_DATETIME, "decline_reason": {"type": ["string", "null"]}}},
    "Synergy": {"type": "object", "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"},
        "stage": {"type": "string", "enum": list(SYNERGY_STAGES)},
        "kind": {"type": "string", "enum": list(SYNERGY_KINDS)},
        "origin": {"type": "string", "enum": list(SYNERGY_ORIGINS)},
        "reporting_group": {"type": "string", "enum": list(synergy_rules.REPORTING_GROUPS),
                            "description": "Regroupement PNSI : en idée, en discussion, finalisées, bloquées/abandonnées"},
        "stop_reason": {"type": ["string", "null"], "enum": [*synergy_rules.STOP_REASONS, None]},
        "stop_note": {"type": ["string", "null"]},
        "previous_stage": {"type": ["string", "null"], "description": "Étape à laquelle elle s'est arrêtée"},
        "sub_type": {"type": ["string", "null"],
                     "enum": [*(s for kind in synergy_rules.KINDS for s in synergy_rules.SUB_TYPES[kind]), None]},
        "is_continuous": {"type": "boolean"},
        "territory": {"oneOf": [COMPANY, {"type": "null"}]}, "giver": {"oneOf": [COMPANY, {"type": "null"}]},
        "taker": {"oneOf": [COMPANY, {"type": "null"}]},
        "listing_id": {"type": ["integer", "null"]}, "need_listing_id": {"type": ["integer", "null"]},
        "award_id": {"type": ["integer", "null"]},
        "next_action": {"type": ["string", "null"]}, "next_action_due": {"type": ["string", "null"], "format": "date"},
        "benefits": {"type": "object", "properties": {"declared": _ref("SynergyBenefit"),
                                                      "verified": _ref("SynergyBenefit")}},
        "quantity": NULLABLE_NUMBER, "unit": {"type": ["string", "null"]}, "unit_price_eur": NULLABLE_NUMBER,
        "stage_changed_at": DATETIME, "created_at": DATETIME, "updated_at": DATETIME,
        "url": {"type": "string", "format": "uri"}}},
    "SynergyBenefit": {"type": ["object", "null"], "description": "Null : rien de déclaré (ou vérifié)", "properties": {
        "is_annual": {"type": "boolean", "description": "Chiffres par an (synergie continue)"},
        "figures": {"type": "object", "description": "Null : inconnu (pas zéro)",
                    "properties": {name: NULLABLE_NUMBER for name in BENEFIT_FIGURES}},
        "co2e_method": {"type": ["string", "null"], "enum": ["computed", "entered", None]},
        "emission_factor": {"type": ["object", "null"], "properties": {
            "key": {"type": "string"}, "label": {"type": "string"}, "kg_co2e_per_unit": NUMBER,
            "unit": {"type": "string", "enum": list(synergy_rules.FACTOR_UNITS)}, "source": {"type": "string"},
            "applied_to": {"type": ["string", "null"]}}},
        "recorded_at": DATETIME}},
}
