"""A published offer reaches the owner of a matching need: through the job, stored, shown, mailed once."""
import json
import re

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.matching.models import Match
from tests.conftest import SmtpSink, listing_form, login


def test_new_offer_is_matched_and_need_owner_mailed_once(app, make_territory, make_company, make_user,
                                                         make_listing, smtp):
    from marketplace.territories.services import set_trusted

    territory = make_territory("Cornouaille", "29900 29000")
    brewery = make_company("Brasserie de l'Odet", "29000")
    farm = make_company("Ferme de Kerlaz", "29900")
    glass = make_company("Miroiterie", "29900")
    brewer = make_user("brasseur@odet.fr", company=brewery)
    farmer = make_user("eleveur@kerlaz.fr", company=farm)
    glazier = make_user("verre@miroiterie.fr", company=glass)
    need = make_listing(farm, "published", kind="need", title="Aliment pour mes vaches laitières",
                        description="Élevage laitier cherche un coproduit pour l'alimentation animale.",
                        waste_code=None, quantity=2, unit="t", frequency="weekly")
    make_listing(glass, "published", kind="need", title="Chutes de verre", waste_code=None)
    practitioner = make_user("anim@cci.fr", role="practitioner", territories=[territory])
    set_trusted(territory, brewery, True, practitioner)
    db.session.commit()
    smtp.clear()

    client = app.test_client()
    login(client, brewer)
    response = client.post("/annonces/nouvelle", data=listing_form(brewery.sites[0].id))
    assert response.status_code == 302
    offer = db.session.scalar(sa.select(Listing).where(Listing.title == "Drêches de brasserie"))
    assert offer.status == "published"

    [match] = db.session.scalars(sa.select(Match)).all()
    assert (match.offer_id, match.need_id) == (offer.id, need.id)
    codes = {r["code"] for r in match.reasons}
    assert "use" in codes and "distance" in codes

    [mail] = smtp.to("eleveur@kerlaz.fr")
    assert smtp.to("verre@miroiterie.fr") == []
    link = re.search(r"http://localhost(/annonces/\d+)", SmtpSink.text(mail)).group(1)
    assert link == f"/annonces/{offer.id}"
    assert "débouché habituel" in SmtpSink.text(mail)

    farmer_client = app.test_client()
    login(farmer_client, farmer)
    assert "Drêches de brasserie" in farmer_client.get(link).get_data(as_text=True)
    page = client.get(f"/annonces/{offer.id}").get_data(as_text=True)
    assert "Preneurs possibles" in page and "Aliment pour mes vaches" in page

    # Editing the offer re-runs matching but never mails the same pair twice.
    client.post(f"/annonces/{offer.id}/modifier", data=listing_form(
        brewery.sites[0].id, title="Drêches de brasserie (orge)", description="Drêches humides.", submit_for="save"))
    assert len(smtp.to("eleveur@kerlaz.fr")) == 1
    assert glazier  # the unrelated need's owner heard nothing


def test_matching_show_cli_prints_json(app, runner, make_company, make_listing):
    brewery = make_company("Brasserie", "29000")
    farm = make_company("Ferme", "29900")
    offer = make_listing(brewery, "published", title="Drêches de brasserie", waste_code="02 07 01")
    need = make_listing(farm, "published", kind="need", title="Alimentation animale pour bovins", waste_code=None)
    offer.ref, need.ref = "O-1", "N-1"
    db.session.commit()
    result = runner.invoke(args=["matching", "show", "O-1", "N-1", "--limit", "5", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["O-1"][0]["ref"] == "N-1" and data["N-1"][0]["ref"] == "O-1"
    assert data["O-1"][0]["score"] > 0 and any("débouché" in r for r in data["O-1"][0]["reasons"])
    missing = runner.invoke(args=["matching", "show", "NOPE"])
    assert missing.exit_code != 0 and "NOPE" in missing.output


def test_match_mail_waits_for_smtp_and_goes_once(app, make_company, make_user, make_listing, smtp):
    from datetime import timedelta

    from marketplace.notifications.models import OutgoingEmail
    from marketplace.notifications.tasks import deliver_due

    brewery = make_company("Brasserie", "29000")
    farm = make_company("Ferme", "29900")
    make_user("eleveur@kerlaz.fr", company=farm)
    make_listing(farm, "published", kind="need", title="Alimentation animale pour bovins", waste_code=None)
    smtp.stop()
    try:
        offer = make_listing(brewery, "draft", title="Drêches de brasserie", waste_code="02 07 01")
        from marketplace.listings.services import schedule_matching

        offer.status = "published"
        schedule_matching(offer)
        db.session.commit()  # the match job runs now (immediate queue) while SMTP is down
        [waiting] = db.session.scalars(sa.select(OutgoingEmail).where(
            OutgoingEmail.recipient == "eleveur@kerlaz.fr")).all()
        assert waiting.state == "pending" and waiting.attempts == 1
    finally:
        smtp.start()
    waiting.next_attempt_at -= timedelta(hours=1)
    db.session.commit()
    assert deliver_due() >= 1 and deliver_due() == 0
    [mail] = smtp.to("eleveur@kerlaz.fr")
    assert f"/annonces/{offer.id}" in SmtpSink.text(mail)
