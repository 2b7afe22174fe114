"""Workshop fixtures: a territory with a brewery, a farm and a cannery (no member: unreachable by
e-mail), a company of another territory, the people who run them; helpers to post the entry table."""
from __future__ import annotations

from datetime import date

import pytest


@pytest.fixture
def area(make_territory, make_company, make_user):
    cornouaille = make_territory("Cornouaille", "29900 29000 29910")
    lorient = make_territory("Pays de Lorient", "56100")
    brewery = make_company("Brasserie de l'Odet", "29000", contact_name="Yann Le Goff",
                           contact_email="contact@brasserie.fr", contact_phone="02 98 00 00 01")
    farm = make_company("Ferme de Kerlaz", "29900", contact_name="Maïwenn Kerlaz", contact_email="ferme@kerlaz.fr")
    cannery = make_company("Conserverie du Port", "29910")
    shipyard = make_company("Chantier Naval Lorientais", "56100")
    return {
        "territory": cornouaille, "lorient": lorient,
        "brewery": brewery, "farm": farm, "cannery": cannery, "shipyard": shipyard,
        "anne": make_user("anne@brasserie.fr", company=brewery, name="Anne Brasserie"),
        "paul": make_user("paul@brasserie.fr", company=brewery, name="Paul Brasserie"),
        "marc": make_user("marc@kerlaz.fr", company=farm, name="Marc Kerlaz"),
        "carol": make_user("carol@chantier.fr", company=shipyard),
        "practitioner": make_user("anim@cci.fr", role="practitioner", territories=[cornouaille], name="Nolwenn Anim"),
        "other_practitioner": make_user("anim@lorient.fr", role="practitioner", territories=[lorient]),
        "admin": make_user("admin@eit.fr", role="admin"),
    }


@pytest.fixture
def workshop(area):
    """A workshop of Cornouaille attended by the brewery, the farm and the cannery; nothing entered yet."""
    from marketplace.extensions import db
    from marketplace.workshops import services

    created = services.create_workshop(area["practitioner"], area["territory"], {
        "title": "Atelier ressources de Cornouaille", "held_on": date(2026, 11, 20), "place": "CCI de Quimper"},
        [area["brewery"], area["farm"], area["cannery"]])
    db.session.commit()
    return created


# A have of the brewery and a want of the farm that match (brewers' grains as animal feed), a want of
# the cannery that matches nothing.
GRAINS = {"kind": "offer", "title": "Drêches de brasserie", "category": "materials", "quantity": "2,5", "unit": "t",
          "frequency": "weekly", "waste_code": "02 07 01", "description": "Drêches humides après brassage."}
FEED = {"kind": "need", "title": "Cherche drêches pour l'alimentation animale", "category": "materials",
        "quantity": "3", "unit": "t", "frequency": "weekly", "waste_code": "", "description": ""}
TRUCK = {"kind": "need", "title": "Camion frigorifique en temps partagé", "category": "logistics",
         "quantity": "", "unit": "", "frequency": "once", "waste_code": "", "description": ""}


def entry_form(rows: list[dict], action: str = "save", **extra) -> dict:
    """The entry table as a browser posts it: every field of every row, empty rows included."""
    from marketplace.workshops import rules

    data = {"action": action, **extra}
    for index, values in enumerate(rows):
        for name, value in (rules.blank_values() | values).items():
            data[f"rows-{index}-{name}"] = str(value)
    return data


def entries(area, *pairs) -> list[dict]:
    """(company key, row) pairs → rows naming the company by id."""
    return [{**row, "company_id": area[key].id} for key, row in pairs]
