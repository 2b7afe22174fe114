"""Imported and published listings are matched; --no-notify keeps everyone quiet."""
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.matching.models import Match

HEADER = "ref,kind,company_name,postcode,city,title,description,category,waste_code,quantity,unit,frequency\n"
ROW = "W-1,offer,Brasserie de l'Odet,29000,Quimper,Drêches de brasserie,Drêches humides,materials,02 07 01,2,t,weekly\n"


def test_import_publish_matches_and_notifies_unless_told_not_to(runner, tmp_path, make_company, make_user,
                                                                 make_listing, smtp):
    farm = make_company("Ferme de Kerlaz", "29900")
    make_user("eleveur@kerlaz.fr", company=farm)
    make_listing(farm, "published", kind="need", title="Alimentation animale pour vaches laitières", waste_code=None)
    sheet = tmp_path / "rows.csv"
    sheet.write_text(HEADER + ROW, encoding="utf-8")
    smtp.clear()

    quiet = runner.invoke(args=["listings", "import", str(sheet), "--publish", "--no-notify"])
    assert quiet.exit_code == 0, quiet.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Match)) == 1
    assert smtp.to("eleveur@kerlaz.fr") == []

    db.session.execute(sa.delete(Match))
    db.session.commit()
    loud = runner.invoke(args=["listings", "import", str(sheet), "--publish"])
    assert loud.exit_code == 0, loud.output
    assert len(smtp.to("eleveur@kerlaz.fr")) == 1


def test_import_leaves_the_search_index_up_to_date(app, runner, tmp_path, real_queue):
    sheet = tmp_path / "rows.csv"
    sheet.write_text(HEADER + ROW, encoding="utf-8")
    # A real queue and no worker running: the jobs wait, the command itself brings the index up to date.
    assert runner.invoke(args=["listings", "import", str(sheet), "--publish", "--no-notify"]).exit_code == 0
    page = app.test_client().get("/recherche?q=dr%C3%AAches").get_data(as_text=True)
    page = page.replace("<mark>", "").replace("</mark>", "")
    assert "Drêches de brasserie" in page
