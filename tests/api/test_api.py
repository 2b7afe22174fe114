"""/api/v1 with bearer tokens: rights, validation (400/422, never 500), JSON errors, OpenAPI."""
import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.listings.models import Listing


@pytest.fixture
def token(runner):
    def issue(user):
        result = runner.invoke(args=["users", "token", user.email])
        assert result.exit_code == 0, result.output
        return {"Authorization": f"Bearer {result.output.strip()}"}

    return issue


def test_requires_a_valid_token(client, world):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/listings", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_list_and_read_follow_the_web_rights(client, world, token):
    bob = token(world["bob"])
    data = client.get("/api/v1/listings?per_page=50", headers=bob).get_json()
    titles = {item["title"] for item in data["items"]}
    assert titles == {"Palettes à donner", "Cherche drêches"} and data["total"] == 2
    assert client.get(f"/api/v1/listings/{world['a_draft'].id}", headers=bob).status_code == 404
    alice = token(world["alice"])
    assert client.get(f"/api/v1/listings/{world['a_draft'].id}", headers=alice).get_json()["status"] == "draft"
    assert client.get("/api/v1/listings?kind=need", headers=bob).get_json()["total"] == 1
    assert client.get("/api/v1/listings?kind=bad", headers=bob).status_code == 422
    assert client.get("/api/v1/listings?page=x", headers=bob).status_code == 422


def test_create_update_withdraw(client, world, token):
    alice = token(world["alice"])
    response = client.post("/api/v1/listings", headers=alice, json={
        "kind": "offer", "title": "Sciure de hêtre", "category": "materials", "quantity": 3, "unit": "t",
        "frequency": "monthly", "waste_code": "030105", "price_mode": "priced", "unit_price_eur": -15.5,
        "submit": True})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["status"] == "pending" and created["waste_code"] == "03 01 05"
    assert created["unit_price_eur"] == -15.5
    patched = client.patch(f"/api/v1/listings/{created['id']}", headers=alice, json={"title": "Sciure de hêtre sèche"})
    assert patched.status_code == 200 and patched.get_json()["title"] == "Sciure de hêtre sèche"
    assert patched.get_json()["quantity"] == 3.0  # untouched fields kept
    bob = token(world["bob"])
    assert client.patch(f"/api/v1/listings/{world['a_published'].id}", headers=bob,
                        json={"title": "Piraté"}).status_code == 403
    assert client.post(f"/api/v1/listings/{world['a_published'].id}/withdraw", headers=bob).status_code == 403
    withdrawn = client.post(f"/api/v1/listings/{created['id']}/withdraw", headers=alice)
    assert withdrawn.get_json()["status"] == "withdrawn"
    assert client.post(f"/api/v1/listings/{created['id']}/withdraw", headers=alice).status_code == 409


@pytest.mark.parametrize("body,status,field", [
    ({"kind": "offer", "title": "x", "category": "materials"}, 422, "title"),
    ({"kind": "offer", "title": "Sciure", "category": "nope"}, 422, "category"),
    ({"kind": "offer", "title": "Sciure", "category": "materials", "waste_code": "99 99 99"}, 422, "waste_code"),
    ({"kind": "offer", "title": "Sciure", "category": "materials", "quantity": "beaucoup"}, 422, "quantity"),
    ({"kind": "offer", "title": "Sciure", "category": "materials", "colour": "red"}, 422, "colour"),
    ({"kind": "offer", "title": "Sciure", "category": "materials", "quantity": [1, 2]}, 422, "quantity"),
    ({"kind": "offer", "title": "Sciure", "category": "materials", "site_id": 99999}, 422, "site_id"),
])
def test_bad_bodies_are_refused_with_fields_and_save_nothing(client, world, token, body, status, field):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Listing))
    response = client.post("/api/v1/listings", headers=token(world["alice"]), json=body)
    assert response.status_code == status
    assert field in response.get_json()["error"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Listing)) == before


def test_non_json_body_is_400(client, world, token):
    headers = token(world["alice"])
    assert client.post("/api/v1/listings", headers=headers, data="not json",
                       content_type="application/json").status_code == 400
    assert client.post("/api/v1/listings", headers=headers, json=[1, 2]).status_code == 400


def test_matches_visible_to_owner_and_moderators_only(client, world, token):
    listing = world["a_published"]
    assert client.get(f"/api/v1/listings/{listing.id}/matches", headers=token(world["alice"])).status_code == 200
    assert client.get(f"/api/v1/listings/{listing.id}/matches",
                      headers=token(world["practitioner"])).status_code == 200
    assert client.get(f"/api/v1/listings/{listing.id}/matches", headers=token(world["bob"])).status_code == 403


def test_unknown_api_url_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_openapi_document_lists_the_resources(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ("/listings", "/listings/{listing_id}", "/listings/{listing_id}/matches"):
        assert path in doc["paths"]


def test_a_logged_in_browser_session_is_not_enough(client, world):
    """No cookie authentication on the API, hence no CSRF exposure."""
    from tests.conftest import login

    login(client, world["alice"])
    assert client.get("/api/v1/listings").status_code == 401
    assert client.post("/api/v1/listings", json={"kind": "offer"}).status_code == 401


def test_search_endpoint_uses_the_search_engine(client, world, token):
    headers = token(world["bob"])
    data = client.get("/api/v1/search?q=palettes", headers=headers).get_json()
    # both published listings say "Palettes" (the need in its description); the draft never shows
    assert {item["title"] for item in data["items"]} == {"Palettes à donner", "Cherche drêches"}
    assert data["total"] == 2 and data["facets"]["kind"] == {"offer": 1, "need": 1}
    assert client.get("/api/v1/search?q=palettes&kind=need", headers=headers).get_json()["total"] == 1
    assert client.get("/api/v1/search?q=palettes&kind=bad", headers=headers).status_code == 422
    assert client.get("/api/v1/search?postcode=00000", headers=headers).status_code == 422
    assert client.get("/api/v1/search?q=brouillon", headers=headers).get_json()["total"] == 0  # drafts unseen


def test_search_endpoint_says_when_the_index_is_unavailable(app, client, world, token):
    from tests.search.helpers import lose_index

    headers = token(world["bob"])
    lose_index(app)
    response = client.get("/api/v1/search?q=palettes", headers=headers)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "search_unavailable"


def test_notifications_endpoint_is_per_user(client, world, token):
    alice = token(world["alice"])
    items = client.get("/api/v1/notifications", headers=alice).get_json()["items"]
    assert items and all(n["kind"] for n in items)  # Bob's answer to her listing
    first = items[0]["id"]
    assert client.post(f"/api/v1/notifications/{first}/read", headers=token(world["bob"])).status_code == 404
    read = client.post(f"/api/v1/notifications/{first}/read", headers=alice).get_json()
    assert read["read_at"] is not None
    unread = client.get("/api/v1/notifications?unread=1", headers=alice).get_json()["items"]
    assert first not in [n["id"] for n in unread]


def test_moments_are_rfc3339_with_their_offset(client, world, token):
    """The document says "date-time": a moment without its offset is not one (it was "2026-…T10:00:00")."""
    item = client.get(f"/api/v1/listings/{world['a_published'].id}", headers=token(world["alice"])).get_json()
    assert item["updated_at"].endswith("+00:00") and item["published_at"].endswith("+00:00")
    assert item["available_from"] is None or len(item["available_from"]) == 10  # a date stays a date


@pytest.mark.parametrize("method", ["get", "patch"])
@pytest.mark.parametrize("listing_id", ["2147483648", "99999999999999999999"])
def test_an_id_past_what_databases_hold_is_404_for_every_method(client, world, token, method, listing_id):
    """Were 500s: PostgreSQL refuses integers past 2³¹-1, SQLite past 2⁶³-1; then a 405 for PATCH."""
    response = getattr(client, method)(f"/api/v1/listings/{listing_id}", headers=token(world["alice"]), json={})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/annonces/{listing_id}").status_code == 404


@pytest.mark.parametrize("query,field", [
    ("territory=99999999999999999999", "territory"),  # was a 500 (OverflowError)
    ("page=99999999999999999999", "page"),  # was a 500 (OFFSET overflow)
    ("page=0", "page"), ("per_page=101", "per_page"), ("radius_km=0", "radius_km"),
    ("category=nope", "category"), ("postcode=", "postcode"), ("q=" + "x" * 201, "q"),
])
def test_query_parameters_outside_the_document_are_422(client, world, token, query, field):
    """What the document says of each parameter is what the API accepts (it bent page=0 into 1)."""
    response = client.get(f"/api/v1/listings?{query}", headers=token(world["alice"]))
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"], response.get_json()


@pytest.mark.parametrize("body,field", [
    ({"quantity": "12"}, "quantity"),  # a number, as the document says (the form read the text)
    ({"title": 12345}, "title"),
    ({"submit": "yes"}, "submit"),
    ({"unit": ""}, "unit"),  # not a unit: null says "no unit"
    ({"site_id": 1.5}, "site_id"),
])
def test_listing_fields_of_another_type_than_documented_are_422(client, world, token, body, field):
    listing = world["a_draft"]
    before = db.session.get(Listing, listing.id).updated_at
    response = client.patch(f"/api/v1/listings/{listing.id}", headers=token(world["alice"]), json=body)
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).updated_at == before
