"""Clear error pages, in French, never a stack trace."""


def test_404_page(client):
    response = client.get("/pas-de-page-ici")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_unexpected_error_renders_500_page_and_rolls_back(app):
    def boom():
        raise RuntimeError("kaboom")

    app.add_url_rule("/boom", "boom", boom)
    response = app.test_client().get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Erreur du serveur" in page and "kaboom" not in page and "Traceback" not in page


def test_405_page(client):
    response = client.get("/compte/deconnexion")
    assert response.status_code == 405
    assert "Action non permise" in response.get_data(as_text=True)


def test_too_large_upload_gets_413_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/compte/connexion", data={"email": "x" * 5000})
    assert response.status_code == 413
    assert "Fichier trop volumineux" in response.get_data(as_text=True)


def test_nul_character_in_a_form_or_query_is_refused_and_saves_nothing(client, world):
    import sqlalchemy as sa

    from marketplace.extensions import db
    from marketplace.listings.models import Listing
    from tests.conftest import listing_form, login

    login(client, world["alice"])
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Listing))
    response = client.post("/annonces/nouvelle", data=listing_form(world["a"].sites[0].id, title="Palettes\x00"))
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Listing)) == before
    assert client.get("/annonces?q=bois%00").status_code == 400
