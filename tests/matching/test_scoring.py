"""Pure scoring rules: evidence of the same resource, outlets, distance, quantities, hazardous waste."""
import pytest

from marketplace.matching.features import build, idf_table
from marketplace.matching.scoring import quantity_fit, rank, score, waste_code_closeness
from marketplace.vocabulary.rules import VocabularyError, parse

THESAURUS = """
big bag, grvs, grand récipient vrac souple
chariot élévateur, fenwick
plaque de plâtre, placo
chaleur fatale, chaleur récupérable
"""
USES = """
drêches => alimentation animale, méthanisation
chaleur fatale => serres, séchage
@02 07 => alimentation animale
"""
V = parse(THESAURUS, USES)
QUIMPER = (47.996, -4.102)
CONCARNEAU = (47.875, -3.918)
LILLE = (50.63, 3.06)


def listing(id, kind, title, description="", category="materials", where=CONCARNEAU, **kw):
    kw.setdefault("company_id", id)
    return build(V, id=id, kind=kind, category=category, title=title, description=description,
                 latitude=where[0], longitude=where[1], **kw)


BACKGROUND = [listing(100 + i, "need", text) for i, text in enumerate([
    "Cartons d'emballage", "Palettes bois", "Local de stockage", "Formation CACES", "Eau de pluie",
    "Transport vers Nantes", "Ferraille", "Huiles usagées",
])]


def pair_score(offer, need):
    idf = idf_table([offer, need] + BACKGROUND)  # word rarity is measured on a pool, as in production
    return score(offer, need, V, idf)


def reasons(scored):
    return {r.code for r in scored.reasons}


def test_synonyms_and_abbreviations_match():
    scored = pair_score(listing(1, "offer", "Big bags vides"), listing(2, "need", "Cherche GRVS", where=QUIMPER))
    assert scored and "concept" in reasons(scored)
    assert pair_score(listing(1, "offer", "Fenwick inutilisé", category="equipment"),
                      listing(2, "need", "Chariot élévateur", category="equipment"))


def test_resource_matches_a_use_it_usually_goes_to():
    scored = pair_score(listing(1, "offer", "Drêches de brasserie"),
                        listing(2, "need", "Aliment pour l'alimentation animale de mes vaches"))
    assert scored and "use" in reasons(scored)
    # the same need does not match an unrelated resource
    assert pair_score(listing(1, "offer", "Chutes de verre plat"),
                      listing(2, "need", "Aliment pour l'alimentation animale de mes vaches")) is None


def test_waste_code_family_gives_outlets_even_without_words():
    offer = listing(1, "offer", "Résidus de pressurage", waste_code="02 07 04")
    scored = pair_score(offer, listing(2, "need", "Alimentation animale"))
    assert scored and "use" in reasons(scored)


def test_same_words_are_evidence_but_stop_words_are_not():
    assert pair_score(listing(1, "offer", "Sable de fonderie usagé"), listing(2, "need", "Sable pour remblai"))
    assert pair_score(listing(1, "offer", "Nous cherchons et proposons tout"),
                      listing(2, "need", "Nous cherchons et proposons tout")) is None


def test_closer_ranks_higher_and_far_is_excluded():
    offer = listing(1, "offer", "Drêches")
    near = listing(2, "need", "Drêches pour élevage", where=QUIMPER)
    far = listing(3, "need", "Drêches pour élevage", where=(48.4, -2.0))
    very_far = listing(4, "need", "Drêches pour élevage", where=LILLE)
    ranked = rank(offer, [far, near, very_far], V, idf_table([offer, near, far, very_far]))
    assert [f.id for f, _ in ranked] == [2, 3]


def test_same_company_and_same_kind_are_never_matched():
    offer = listing(1, "offer", "Drêches", company_id=7)
    assert pair_score(offer, listing(2, "need", "Drêches", company_id=7)) is None
    assert rank(offer, [listing(3, "offer", "Drêches")], V, {}) == []


def test_hazardous_lot_only_goes_to_an_authorised_taker():
    oil = listing(1, "offer", "Huiles moteur usagées", waste_code="13 02 05", is_hazardous=True)
    plain = listing(2, "need", "Huiles moteur usagées")
    collector = listing(3, "need", "Huiles moteur usagées", handled_waste_codes={"13 02 05"})
    regenerator = listing(4, "need", "Huiles moteur usagées", treatment_operations={"R9"})
    assert pair_score(oil, plain) is None
    assert pair_score(oil, collector) and pair_score(oil, regenerator)


def test_availability_windows_must_overlap():
    from datetime import date

    offer = listing(1, "offer", "Drêches", available_until=date(2026, 3, 1))
    assert pair_score(offer, listing(2, "need", "Drêches", available_from=date(2026, 4, 1))) is None
    assert pair_score(offer, listing(3, "need", "Drêches", available_from=date(2026, 2, 1)))


@pytest.mark.parametrize("a,b,expected", [
    (("t", 1, "monthly"), ("kg", 1000, "monthly"), 1.0),
    (("t", 12, "yearly"), ("t", 1, "monthly"), 1.0),
    (("t", 1, "once"), ("t", 100, "once"), 0.0),
    (("m3", 1, "once"), ("L", 1000, "once"), 1.0),
    (("t", 1, "once"), ("m3", 1, "once"), None),
    ((None, None, "once"), ("t", 1, "once"), None),
    (("day", 2, "weekly"), ("day", 2, "once"), 1.0),  # a one-off need against a recurring offer: per delivery
])
def test_quantity_fit(a, b, expected):
    offer = listing(1, "offer", "x", unit=a[0], quantity=a[1], frequency=a[2])
    need = listing(2, "need", "x", unit=b[0], quantity=b[1], frequency=b[2])
    fit = quantity_fit(offer, need)
    assert fit == expected if expected is None else fit == pytest.approx(expected)


def test_waste_code_closeness():
    assert waste_code_closeness("02 07 04", "02 07 04") == 1.0
    assert waste_code_closeness("02 07 04", "02 07 01") == 0.6
    assert waste_code_closeness("02 07 04", "02 03 04") == 0.3
    assert waste_code_closeness("02 07 04", None) == 0.0


def test_every_reason_is_explained():
    from marketplace.matching.explain import reason_text

    scored = pair_score(listing(1, "offer", "Chaleur fatale de nos fours", category="energy", unit="MWh", quantity=100,
                                waste_code=None),
                        listing(2, "need", "Chauffage de serres", category="energy", unit="MWh", quantity=120,
                                where=QUIMPER))
    assert {"use", "distance", "category", "quantity"} <= reasons(scored)
    assert all(reason_text(r.as_dict()) for r in scored.reasons)


@pytest.mark.parametrize("thesaurus,uses,line", [
    ("big bag", "", 1),
    ("sable, gravier\nle, la", "", 2),
    ("", "drêches alimentation", 1),
    ("", "@2 => compost", 1),
])
def test_vocabulary_errors_name_the_line(thesaurus, uses, line):
    with pytest.raises(VocabularyError) as error:
        parse(thesaurus, uses)
    assert error.value.line == line


def test_shipped_vocabulary_parses():
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "marketplace" / "data"
    vocabulary = parse((data / "thesaurus_fr.txt").read_text(), (data / "resource_uses_fr.txt").read_text())
    assert len(vocabulary.uses) > 80 and len(vocabulary.code_uses) > 20
