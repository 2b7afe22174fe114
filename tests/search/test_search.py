"""Full-text search, with the configured backend (Whoosh, or PostgreSQL when the suite runs on it):
the index follows every listing change through the real job, and the search page finds listings by
words, synonyms, waste-code wording, filters and distance."""
from __future__ import annotations

import html
import re

import pytest

from tests.conftest import login
from tests.search.helpers import found, index_exists, lose_index, page, titles


@pytest.fixture
def places(make_territory, make_company):
    """Companies in Concarneau, Quimper (≈ 20 km away) and Lorient (≈ 50 km away)."""
    return {
        "cornouaille": make_territory("Cornouaille", "29900 29000"),
        "lorient_t": make_territory("Pays de Lorient", "56100"),
        "concarneau": make_company("Conserverie du Port", "29900"),
        "quimper": make_company("Brasserie de l'Odet", "29000"),
        "lorient": make_company("Chantier Naval Lorientais", "56100"),
    }


# --- the index follows the listings -------------------------------------------------------------


def test_publish_edit_and_withdraw_update_the_index(app, client, make_company, make_user):
    from marketplace.extensions import db
    from marketplace.listings import services
    from marketplace.listings.models import Listing

    company = make_company("Menuiserie Le Goff", "29900")
    alice = make_user("alice@legoff.fr", company=company)
    listing = services.create(alice, company, company.sites[0], {
        "kind": "offer", "title": "Chutes de chêne", "description": "Chutes de chêne massif, sèches.",
        "category": "materials", "frequency": "monthly", "price_mode": "free"})
    db.session.commit()
    assert found(client, "?q=chêne") == set()  # a draft is not searchable

    services.submit(alice, listing)
    if listing.status == "pending":
        services.approve(make_user("anim@cci.fr", role="admin"), listing)
    db.session.commit()
    assert found(client, "?q=chêne") == {"Chutes de chêne"}

    services.update(alice, listing, listing.site, {"title": "Chutes de hêtre", "description": "Hêtre étuvé."})
    db.session.commit()
    assert found(client, "?q=hêtre") == {"Chutes de hêtre"}
    assert found(client, "?q=chêne") == set()

    services.change_status(alice, listing, "withdraw")
    db.session.commit()
    assert found(client, "?q=hêtre") == set()
    assert found(client) == set()
    assert db.session.get(Listing, listing.id).status == "withdrawn"  # the database keeps it


def test_reserved_listings_stay_searchable_closed_ones_do_not(app, client, make_company):
    from marketplace.extensions import db
    from marketplace.listings import services

    company = make_company()
    listing = _listing(company, title="Cuves inox 1000 L")
    services.change_status(None, listing, "reserve")
    db.session.commit()
    assert found(client, "?q=cuves") == {"Cuves inox 1000 L"}
    services.change_status(None, listing, "close")
    db.session.commit()
    assert found(client, "?q=cuves") == set()


def _listing(company, **fields):
    """A published listing through the services (so through `_event`, like the web pages)."""
    from marketplace.extensions import db
    from marketplace.listings import services

    data = {"kind": "offer", "title": "Palettes", "description": "", "category": "materials",
            "frequency": "once", "price_mode": "free"}
    data.update(fields)
    listing = services.create(None, company, company.sites[0], data)
    services._publish(listing)
    services._event(listing, None, "published", "draft")
    db.session.commit()
    return listing


def test_company_rename_reindexes_its_listings(app, client, make_company, make_listing):
    from marketplace.companies.services import update_company
    from marketplace.extensions import db

    company = make_company("Scierie Jaouen")
    make_listing(company, title="Sciure de bois")
    assert found(client, "?q=jaouen") == {"Sciure de bois"}
    update_company(company, {"name": "Bois de Cornouaille"})
    db.session.commit()
    assert found(client, "?q=jaouen") == set()
    assert found(client, "?q=cornouaille") == {"Sciure de bois"}


def test_moving_a_site_updates_distance_and_territory(app, client, places, make_listing):
    from marketplace.companies.services import update_site
    from marketplace.extensions import db

    company = places["concarneau"]
    make_listing(company, title="Filets de pêche usagés")
    assert found(client, f"?territory={places['lorient_t'].id}") == set()
    update_site(company.sites[0], "Siège", "56100")
    db.session.commit()
    assert found(client, f"?territory={places['lorient_t'].id}") == {"Filets de pêche usagés"}
    assert found(client, "?postcode=29900&radius_km=10") == set()


# --- words, synonyms, waste codes ---------------------------------------------------------------


@pytest.mark.parametrize("query, text, expected", [
    ("big bag", "Lot de GRVS propres", True),
    ("GRVS", "Big bags alimentaires réutilisables", True),
    ("placo", "Chutes de plaques de plâtre neuves", True),
    ("plaque de plâtre", "Chutes de placo BA13", True),
    ("Fenwick", "Chariot élévateur électrique 2 t", True),
    ("chariot élévateur", "Fenwick diesel à donner", True),
    ("PSE", "Polystyrène expansé blanc en plaques", True),
    ("polystyrène expansé", "Calage en PSE", True),
    ("réfrigérés", "Camion refrigere disponible le week-end", True),
    ("palettes", "Une palette Europe", True),
    ("placo", "Panneaux de bois", False),
])
def test_words_synonyms_accents_and_plurals(app, client, make_company, make_listing, query, text, expected):
    make_listing(make_company(), title="Annonce", description=text, waste_code=None)
    make_listing(make_company("Autre", "29000"), title="Sans rapport", description="Ferraille de chantier",
                 waste_code=None)
    assert ("Annonce" in found(client, f"?q={query}")) is expected


def test_typed_words_rank_above_synonyms(app, client, make_company, make_listing):
    company = make_company()
    make_listing(company, title="GRVS alimentaires", waste_code=None)
    make_listing(company, title="Big bag de chantier", waste_code=None)
    assert titles(client, "?q=big+bag")[0] == "Big bag de chantier"
    assert "Synonymes inclus" in page(client, "?q=big+bag")


def test_waste_code_wording_and_code_are_searchable(app, client, make_company, make_listing):
    company = make_company()
    make_listing(company, title="Lot de caisses", description="Caisses de transport", waste_code="15 01 03")
    make_listing(company, title="Huile de friture", description="Graisses", waste_code="20 01 25")
    assert found(client, "?q=emballages+en+bois") == {"Lot de caisses"}
    assert found(client, "?q=15+01+03") == {"Lot de caisses"}
    assert found(client, "?q=150103") == {"Lot de caisses"}


def test_every_word_is_required_then_any_word_when_none_has_all(app, client, make_company, make_listing):
    company = make_company()
    make_listing(company, title="Palettes bois", waste_code=None)
    make_listing(company, title="Ferraille", waste_code=None)
    make_listing(company, title="Palettes et ferraille", waste_code=None)
    assert found(client, "?q=palettes+ferraille") == {"Palettes et ferraille"}
    assert "au moins un" not in page(client, "?q=palettes+ferraille")
    assert found(client, "?q=palettes+cartons") == {"Palettes bois", "Palettes et ferraille"}
    assert "Aucune annonce ne contient tous ces mots" in html.unescape(page(client, "?q=palettes+cartons"))


def test_empty_query_lists_every_public_listing_newest_first(app, client, make_company, make_listing):
    from datetime import timedelta

    from marketplace.extensions import db

    company = make_company()
    old = make_listing(company, title="Ancienne annonce")
    old.published_at -= timedelta(days=30)
    from marketplace.search.indexing import schedule_listing

    schedule_listing(old)
    db.session.commit()
    make_listing(company, title="Nouvelle annonce")
    make_listing(company, "draft", title="Brouillon")
    make_listing(company, "pending", title="En attente")
    assert titles(client) == ["Nouvelle annonce", "Ancienne annonce"]
    assert titles(client, "?q=") == ["Nouvelle annonce", "Ancienne annonce"]


# --- filters, facets, distance ------------------------------------------------------------------


def test_filters_and_facet_counts(app, client, places, make_listing):
    make_listing(places["concarneau"], title="Coproduits de poisson", waste_code="02 02 03")
    make_listing(places["quimper"], title="Drêches de brasserie", waste_code="02 07 04")
    make_listing(places["quimper"], kind="need", title="Cherche palettes", waste_code="15 01 03")
    make_listing(places["lorient"], title="Chaleur fatale", category="energy", waste_code=None)
    make_listing(places["lorient"], title="Boues d'hydrocarbures", waste_code="05 01 06")  # hazardous

    assert found(client, "?kind=need") == {"Cherche palettes"}
    assert found(client, "?category=energy") == {"Chaleur fatale"}
    assert found(client, "?chapter=02") == {"Coproduits de poisson", "Drêches de brasserie"}
    assert found(client, f"?territory={places['lorient_t'].id}") == {"Chaleur fatale", "Boues d'hydrocarbures"}
    assert found(client, "?hazardous=1") == {"Boues d'hydrocarbures"}
    assert len(found(client, "?hazardous=0")) == 4
    assert found(client, f"?kind=offer&chapter=02&territory={places['cornouaille'].id}") == {
        "Coproduits de poisson", "Drêches de brasserie"}

    text = html.unescape(page(client))
    assert re.search(r'kind=offer">Offres</a> <span class="count">4</span>', text)
    assert re.search(r'kind=need">Besoins</a> <span class="count">1</span>', text)
    assert re.search(r'category=energy">Énergie</a> <span class="count">1</span>', text)
    assert re.search(r'chapter=02">02 – [^<]+</a> <span class="count">2</span>', text)
    assert re.search(rf'territory={places["cornouaille"].id}">Cornouaille</a> <span class="count">3</span>', text)
    # Counts follow the query and the other filters; the active filter can be removed.
    filtered = html.unescape(page(client, "?chapter=02"))
    assert re.search(r'kind=offer">Offres</a> <span class="count">2</span>', filtered)
    assert "Retirer le filtre" in filtered and 'kind=need"' not in filtered
    # A bad filter value is ignored, not an error.
    assert len(found(client, "?kind=bogus&chapter=99&territory=abc&hazardous=maybe&sort=nope&page=x")) == 5


def test_distance_filter_and_sort(app, client, places, make_listing):
    make_listing(places["lorient"], title="Ferraille navale")
    make_listing(places["quimper"], title="Palettes de Quimper")
    make_listing(places["concarneau"], title="Palettes de Concarneau")

    assert found(client, "?postcode=29900&radius_km=10") == {"Palettes de Concarneau"}
    assert titles(client, "?postcode=29900&radius_km=30") == ["Palettes de Concarneau", "Palettes de Quimper"]
    # With a place and no words, nearest first by default (Concarneau is nearer Lorient than Quimper).
    assert titles(client, "?postcode=56100&radius_km=100") == [
        "Ferraille navale", "Palettes de Concarneau", "Palettes de Quimper"]
    assert titles(client, "?postcode=29900&radius_km=100&sort=distance") == [
        "Palettes de Concarneau", "Palettes de Quimper", "Ferraille navale"]
    assert titles(client, "?q=palettes&postcode=29000&radius_km=30&sort=distance") == [
        "Palettes de Quimper", "Palettes de Concarneau"]
    text = html.unescape(page(client, "?postcode=29900&radius_km=30"))
    assert "à moins de 30 km de" in text and "à 0 km" in text
    # Nothing near: say so and offer a wider radius, a real link.
    empty = html.unescape(page(client, "?q=ferraille&postcode=29900&radius_km=10"))
    assert "Aucune annonce ne correspond" in empty
    assert "radius_km=20" in empty and "Élargir le rayon à 20 km" in empty
    assert 'href="#"' not in empty
    # Unknown postcode: a field error, the rest of the search still works.
    assert "Code postal inconnu" in html.unescape(page(client, "?postcode=00000&q=palettes"))
    assert "Palettes de Quimper" in found(client, "?postcode=00000&q=palettes")


def test_pagination(app, client, make_company, make_listing):
    company = make_company()
    for i in range(25):
        make_listing(company, title=f"Lot de palettes numéro {i:02d}", waste_code=None)
    first = page(client, "?q=palettes")
    second = page(client, "?q=palettes&page=2")
    assert first.count('class="card listing-card') == 20
    assert second.count('class="card listing-card') == 5
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert "25 annonces" in first
    assert not set(titles(client, "?q=palettes")) & set(titles(client, "?q=palettes&page=2"))
    # Past the end: the last page, not an error.
    assert page(client, "?q=palettes&page=99").count('class="card listing-card') == 5


# --- output -------------------------------------------------------------------------------------


def test_highlights_are_escaped_and_only_add_mark(app, client, make_company, make_listing):
    make_listing(make_company(), title="Palettes <b>gratuites</b>",
                 description='<script>alert("x")</script> Palettes & caisses <img src=x onerror=alert(1)>')
    text = page(client, "?q=palettes")
    assert "<script>alert" not in text and "<img src=x" not in text and "<b>gratuites" not in text
    assert "&lt;/script&gt;" in text and "&lt;b&gt;gratuites" in text
    assert '<mark class="hl' in text
    snippet = re.search(r'<p class="card-snippet">(.*?)</p>', text, re.DOTALL).group(1)
    assert set(re.findall(r"</?([a-z]+)", snippet)) == {"mark"}


@pytest.mark.parametrize("typo, suggestion", [
    ("pallettes", "palettes"),
    ("drache", "drêche"),
    ("fenwic", "fenwi"),  # from the thesaurus (Fenwick, or its listed misspelling): no listing says it
])
def test_typos_get_a_suggestion_that_finds_something(app, client, make_company, make_listing, typo, suggestion):
    company = make_company()
    make_listing(company, title="Palettes Europe", waste_code=None)
    make_listing(company, title="Drêches de brasserie", waste_code=None)
    make_listing(company, title="Chariot élévateur", waste_code=None)
    text = html.unescape(page(client, f"?q={typo}"))
    assert "Vouliez-vous dire" in text
    link = re.search(r'Vouliez-vous dire <a href="([^"]+)">([^<]+)</a>', text)
    assert suggestion in link.group(2)
    assert found(client, link.group(1).replace("/recherche", ""))


def test_a_known_misspelling_in_the_thesaurus_finds_directly(app, client, make_company, make_listing):
    make_listing(make_company(), title="Chariot élévateur", waste_code=None)
    assert found(client, "?q=fenwik") == {"Chariot élévateur"}


def test_no_suggestion_when_the_words_already_find_listings(app, client, make_company, make_listing):
    make_listing(make_company(), title="Drêches de brasserie", waste_code=None)
    make_listing(make_company("Autre", "29000"), title="Lot de GRVS", waste_code=None)
    make_listing(make_company("Bacs", "29000"), title="Bacs et bagues", waste_code=None)
    # "big" and "bag" are not in any listing, but "big bag" is a thesaurus term: nothing to correct.
    for query in ("drèche", "dreches", "palete", "big bag"):
        assert "Vouliez-vous dire" not in page(client, f"?q={query}")
    assert found(client, "?q=drèche") == {"Drêches de brasserie"}


def test_no_result_page_helps(app, client, make_company, make_listing, make_user):
    company = make_company()
    make_listing(company, title="Palettes", waste_code=None)
    text = html.unescape(page(client, "?q=zzzzqqq+wwwxxx&kind=need"))
    assert "Aucune annonce ne correspond à « zzzzqqq wwwxxx »" in text
    assert "Retirer le filtre « Besoins »" in text
    assert "moins de mots" in text
    login(client, make_user(company=company))
    assert "Publiez un besoin" in html.unescape(page(client, "?q=zzzzqqq"))


def test_header_search_box_and_old_words_field(app, client, make_company, make_listing):
    make_listing(make_company(), title="Palettes bois")
    home = client.get("/").get_data(as_text=True)
    assert 'action="/recherche"' in home and 'for="header-search-q"' in home
    response = client.get("/annonces?q=palettes&kind=offer&postcode=29900&radius_km=20&page=3")
    assert response.status_code == 302
    assert response.location.startswith("/recherche?")
    for part in ("q=palettes", "kind=offer", "postcode=29900", "radius_km=20"):
        assert part in response.location
    assert "page=" not in response.location
    assert client.get("/annonces?kind=offer").status_code == 200


# --- index lost, rebuilt ------------------------------------------------------------------------


def test_missing_index_says_so_then_rebuild_restores_it(app, client, runner, make_company, make_listing):
    make_listing(make_company(), title="Palettes bois")
    make_listing(make_company("Autre", "29000"), title="Drêches")
    lose_index(app)

    text = html.unescape(page(client, "?q=palettes", status=503))
    assert "L'index de recherche est indisponible : un administrateur doit lancer flask search rebuild" in text
    page(client, "", status=503)
    assert client.get("/annonces").status_code == 200  # listings are never lost

    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "2 annonce(s) indexée(s)" in result.output
    assert found(client, "?q=palettes") == {"Palettes bois"}
    assert len(found(client)) == 2


def test_rebuild_works_on_an_empty_database(app, client, runner):
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "0 annonce(s) indexée(s)" in result.output
    assert index_exists(app)
    assert "Aucune annonce" in html.unescape(page(client))


def test_empty_database_without_index_is_not_an_error(app, client):
    assert not index_exists(app)
    assert "Aucune annonce ne correspond à ces critères" in html.unescape(page(client))


# --- both backends, beyond the page's usual use -------------------------------------------------


def test_query_syntax_is_read_as_plain_words(app, client, make_company, make_listing):
    """Operators of either engine's query language (and SQL quotes) are only characters."""
    make_listing(make_company(), title="Palettes bois", waste_code=None)
    for query in ("palettes'", "palettes & !bois", "palettes | (bois", 'palettes "bois', "palettes:*",
                  "palettes AND NOT bois", "palettes'); DROP TABLE listing; --", "<->", "!!", "*"):
        response = client.get("/recherche", query_string={"q": query})
        assert response.status_code == 200, query
    assert found(client, "?q=palettes%27%20%26%20!bois") == {"Palettes bois"}


def test_a_word_only_withdrawn_listings_had_is_not_suggested(app, client, make_company, make_listing):
    from marketplace.extensions import db
    from marketplace.listings import services

    listing = make_listing(make_company(), title="Palettes Europe", waste_code=None)
    services.change_status(None, listing, "withdraw")
    db.session.commit()
    assert "Vouliez-vous dire" not in page(client, "?q=pallettes")

