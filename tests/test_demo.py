"""The demo data a newcomer sees on the first `make run`."""
import sqlalchemy as sa

from marketplace.accounts.models import Company, User
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.matching.models import Match
from marketplace.notifications.models import OutgoingEmail
from marketplace.reference import waste_code_entry


def test_demo_loads_once_and_prints_accounts(runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "admin@" in result.output and "animatrice@" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Company)) >= 30
    statuses = dict(db.session.execute(sa.select(Listing.status, sa.func.count()).group_by(Listing.status)).all())
    assert sum(statuses.values()) >= 100 and statuses["published"] >= 80 and statuses["pending"] >= 1
    for code in db.session.scalars(sa.select(Listing.waste_code).where(Listing.waste_code.is_not(None))):
        waste_code_entry(code)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingEmail)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Match)) > 20  # computed silently
    from marketplace.synergies.models import Synergy, SynergyBenefit
    from marketplace.synergies.rules import reporting_group

    stages = db.session.scalars(sa.select(Synergy.stage)).all()
    assert {reporting_group(stage) for stage in stages} == {"idea", "discussion", "finalised", "stopped"}
    assert "completed" in stages
    computed = db.session.scalars(sa.select(SynergyBenefit).where(SynergyBenefit.status == "verified",
                                                                  SynergyBenefit.co2e_method == "computed")).all()
    assert computed and all(b.co2e_tonnes > 0 and b.emission_factor_source for b in computed)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Company)
                             .where(Company.review_status == "pending")) == 2
    from marketplace.workshops.models import Workshop, WorkshopListing

    [workshop] = db.session.scalars(sa.select(Workshop)).all()
    assert len(workshop.attendances) == 15
    entered = db.session.scalars(sa.select(Listing).join(WorkshopListing, WorkshopListing.listing_id == Listing.id)).all()
    assert len(entered) == 8 and all(listing.status == "published" for listing in entered)
    again = runner.invoke(args=["demo", "load"])
    assert "déjà présentes" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.is_admin)) == 1


def test_demo_accounts_can_log_in(app, runner):
    output = runner.invoke(args=["demo", "load"]).output
    line = next(l for l in output.splitlines() if "animatrice@" in l)
    email, password = line.split()[-2:]
    client = app.test_client()
    response = client.post("/compte/connexion", data={"email": email, "password": password})
    assert response.status_code == 302
    assert "Annonces en attente" in client.get("/territoires/1").get_data(as_text=True)
