"""Companies: creation with validated SIRET/NAF and a located site, sites, invitations, solution providers."""
import re

import sqlalchemy as sa

from marketplace.accounts.models import Company, Site, User
from marketplace.extensions import db
from tests.conftest import SmtpSink, login

VALID_SIRET = "73282932000074"  # check digit valid (INSEE example)


def company_form(**overrides):
    data = {"name": "Scierie de l'Aven", "siret": "", "naf_code": "16.10A", "description": "Sciage",
            "site_name": "Usine", "address": "ZA de Kerambris", "postcode": "29930", "city": ""}
    data.update(overrides)
    return data


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_create_company_locates_site_and_joins_territory(client, make_user, make_territory):
    territory = make_territory("Cornouaille", "29930 29900")
    user = make_user(company=None)
    login(client, user)
    response = client.post("/entreprises/nouvelle", data=company_form(siret="732 829 320 00074", naf_code="1610a"))
    assert response.status_code == 302
    company = db.session.scalar(sa.select(Company))
    assert company.siret == VALID_SIRET and company.naf_code == "16.10A"
    site = company.sites[0]
    assert site.city.upper() == "PONT AVEN" and site.latitude and site.longitude
    assert [t.id for t in site.territories] == [territory.id]
    db.session.expire_all()
    assert user.company_id == company.id


def test_bad_company_input_rerenders_and_saves_nothing(client, make_user):
    login(client, make_user())
    response = client.post("/entreprises/nouvelle", data=company_form(
        siret="12345678901234", naf_code="99.99Q", postcode="00000", website="ftp://x", handled_waste_codes="99 99 99"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("SIRET invalide", "Code NAF inconnu", "Code postal inconnu", "http:// ou https://",
                    "Codes déchets inconnus"):
        assert message in page
    assert "Scierie de l&#39;Aven" in page
    assert count(Company) == 0 and count(Site) == 0


def test_duplicate_siret_is_refused(client, make_user, make_company):
    make_company("Autre", siret=VALID_SIRET)
    login(client, make_user())
    response = client.post("/entreprises/nouvelle", data=company_form(siret=VALID_SIRET))
    assert response.status_code == 422 and "déjà enregistré" in response.get_data(as_text=True)
    assert count(Company) == 1


def test_solution_provider_declares_what_it_handles(client, make_user, make_company):
    company = make_company()
    login(client, make_user(company=company))
    response = client.post(f"/entreprises/{company.id}/modifier", data={
        "name": company.name, "is_solution_provider": "y", "handled_categories": ["materials", "energy"],
        "handled_waste_codes": "150103; 20 01 08*, 15 01 03", "treatment_operations": ["R3", "R13"]})
    assert response.status_code == 302
    db.session.expire_all()
    assert company.is_solution_provider
    assert company.handled_category_list == ["materials", "energy"]
    assert company.handled_waste_code_list == ["15 01 03", "20 01 08"]
    assert company.treatment_operation_list == ["R3", "R13"]
    page = client.get(f"/entreprises/{company.id}").get_data(as_text=True)
    assert "Apporteur de solutions" in page and "R13" in page


def test_sites_add_edit_and_delete_rules(client, make_user, make_company, make_listing):
    company = make_company()
    login(client, make_user(company=company))
    assert client.post(f"/entreprises/{company.id}/sites/nouveau",
                       data={"name": "Entrepôt", "postcode": "29000", "city": "Quimper"}).status_code == 302
    db.session.expire_all()
    first, second = company.sites
    assert second.city == "Quimper" and second.latitude
    client.post(f"/entreprises/{company.id}/sites/{second.id}/modifier", data={"name": "Entrepôt Nord", "postcode": "29910"})
    db.session.expire_all()
    assert second.postcode == "29910" and second.name == "Entrepôt Nord"
    make_listing(company)  # on the first site
    client.post(f"/entreprises/{company.id}/sites/{first.id}/supprimer")
    db.session.expire_all()
    assert len(company.sites) == 2  # the site carries a listing
    client.post(f"/entreprises/{company.id}/sites/{second.id}/supprimer")
    db.session.expire_all()
    assert [s.id for s in company.sites] == [first.id]


def test_invitation_brings_a_colleague_into_the_company(app, client, make_user, make_company, smtp):
    company = make_company()
    login(client, make_user(company=company))
    assert client.post(f"/entreprises/{company.id}/inviter", data={"email": "collegue@port.fr"}).status_code == 302
    [msg] = smtp.to("collegue@port.fr")
    path = re.search(r"http://localhost(/entreprises/invitation/\S+)", SmtpSink.text(msg)).group(1)
    colleague_client = app.test_client()
    assert "Créer un compte" in colleague_client.get(path).get_data(as_text=True)
    # The colleague signs up from the invitation; the confirmation link brings them back to it, logged in.
    colleague_client.post(f"/compte/inscription?next={path}", data={
        "full_name": "Gwen Collègue", "email": "collegue@port.fr", "password": "filets-et-casiers-29",
        "password_again": "filets-et-casiers-29", "accept_terms": "y"})
    confirm = [m for m in smtp.to("collegue@port.fr") if "Confirmez" in m["Subject"]][0]
    link = re.search(r"http://localhost(/compte/confirmer/\S+)", SmtpSink.text(confirm)).group(1)
    assert colleague_client.get(link).location == path
    assert "invitation</button>" in colleague_client.get(path).get_data(as_text=True)
    colleague = db.session.scalar(sa.select(User).where(User.email == "collegue@port.fr"))
    assert colleague_client.post(path).status_code == 302
    db.session.expire_all()
    assert colleague.company_id == company.id and colleague.is_confirmed
    assert colleague_client.post(path).status_code == 302  # a used invitation does nothing more
    assert "n&#39;est plus valide" in colleague_client.get(path, follow_redirects=True).get_data(as_text=True)


def test_contacts_hidden_from_anonymous_visitors(client, make_company):
    company = make_company(contact_email="direction@port.fr")
    assert "direction@port.fr" not in client.get(f"/entreprises/{company.id}").get_data(as_text=True)
