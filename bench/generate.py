"""Data generator for benchmarks: realistic listings built from the reference data (categories,
waste codes and their French wording, postcodes with coordinates, the field's vocabulary).

    .venv/bin/python bench/generate.py --listings 100000 --instance bench/out/100k
    .venv/bin/python bench/generate.py --listings 100000 --database-url postgresql+psycopg://…/bench

Creates (or reuses) the instance, migrates it, and bulk-inserts companies, sites and listings with
their matching profiles, in batches, with a progress line. Deterministic for a given --seed."""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUALIFIERS = ["propres", "triés", "en vrac", "sur palettes", "en big bags", "secs", "humides", "en fûts",
              "conditionnés", "non souillés", "de qualité constante", "disponibles rapidement", "à enlever sur site"]
ORIGINS = ["issus de notre production", "de notre atelier", "de nos lignes de fabrication", "de notre entrepôt",
           "de nos chantiers", "de notre usine", "de notre site", "de l'entretien de nos espaces"]
NEED_OPENERS = ["Nous cherchons", "Recherche", "Besoin de", "Notre entreprise cherche", "Atelier cherche",
                "PME cherche", "Exploitation cherche", "Association cherche"]
ACTIVITIES = ["pour notre production", "pour un projet de réemploi", "pour alimenter notre process",
              "pour nos chantiers", "pour notre atelier", "en remplacement d'une matière vierge"]
UNITS = {"materials": ["t", "kg", "m3", "unit"], "energy": ["MWh"], "water": ["m3"], "equipment": ["unit", "h", "day"],
         "space": ["m2"], "logistics": ["unit", "day"], "services": ["unit", "h"], "skills": ["h", "day"],
         "staff": ["day", "h"]}
CATEGORY_WEIGHTS = {"materials": 60, "energy": 6, "water": 5, "equipment": 8, "space": 5, "logistics": 5,
                    "services": 5, "skills": 3, "staff": 3}


def vocabulary_terms():
    """Resource names (left of the uses rules, first terms of the thesaurus) and outlets (right)."""
    data = ROOT / "marketplace" / "data"
    resources, outlets = [], []
    for line in (data / "resource_uses_fr.txt").read_text(encoding="utf-8").splitlines():
        if "=>" in line and not line.startswith("#"):
            left, right = line.split("=>", 1)
            resources += [t.strip() for t in left.split(",") if t.strip() and not t.strip().startswith("@")]
            outlets += [t.strip() for t in right.split(",") if t.strip()]
    for line in (data / "thesaurus_fr.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            resources.append(line.split(",")[0].strip())
    return sorted(set(resources)), sorted(set(outlets))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--instance", type=Path, default=ROOT / "bench" / "out" / "data")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=29900)
    args = parser.parse_args()

    args.instance.mkdir(parents=True, exist_ok=True)
    os.environ["MARKETPLACE_INSTANCE_PATH"] = str(args.instance.resolve())
    if args.database_url:
        os.environ["MARKETPLACE_DATABASE_URL"] = args.database_url
    from flask_migrate import upgrade

    from marketplace import create_app

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        generate(args.listings, random.Random(args.seed))
    return 0


def generate(count: int, rng: random.Random) -> None:
    import sqlalchemy as sa

    from marketplace.accounts.models import Company, Site
    from marketplace.extensions import db
    from marketplace.listings.models import Listing
    from marketplace.matching.models import MatchProfile
    from marketplace.models_base import utcnow
    from marketplace.reference import postcodes, waste_codes
    from marketplace.search.analysis import analyze

    resources, outlets = vocabulary_terms()
    entries = [w for w in waste_codes().values() if w.level == "entry"]
    places = [p for group in postcodes().values() for p in group]
    categories = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    now = utcnow()
    start = time.perf_counter()

    company_count = max(count // 5, 1)
    first_company = (db.session.scalar(sa.select(sa.func.max(Company.id))) or 0) + 1
    first_site = (db.session.scalar(sa.select(sa.func.max(Site.id))) or 0) + 1
    first_listing = (db.session.scalar(sa.select(sa.func.max(Listing.id))) or 0) + 1
    companies, sites = [], []
    for i in range(company_count):
        place = rng.choice(places)
        companies.append({"id": first_company + i, "name": f"Entreprise {first_company + i:06d}", "description": "",
                          "is_solution_provider": rng.random() < 0.05, "handled_categories": "",
                          "handled_waste_codes": "", "treatment_operations": "", "created_at": now, "updated_at": now})
        sites.append({"id": first_site + i, "company_id": first_company + i, "name": "Site principal", "address": "",
                      "postcode": place.postcode, "city": place.commune.title(), "latitude": place.latitude,
                      "longitude": place.longitude, "created_at": now, "updated_at": now})
    db.session.execute(sa.insert(Company), companies)
    db.session.execute(sa.insert(Site), sites)
    db.session.commit()

    batch, profiles = [], []
    for i in range(count):
        kind = "offer" if rng.random() < 0.6 else "need"
        category = rng.choices(categories, weights)[0]
        resource = rng.choice(resources)
        code = rng.choice(entries) if category == "materials" and rng.random() < 0.6 else None
        if kind == "offer":
            title = f"{resource.capitalize()} {rng.choice(QUALIFIERS)}"
            description = f"{resource.capitalize()} {rng.choice(ORIGINS)}, {rng.choice(QUALIFIERS)}."
            if code:
                description += f" {code.description.capitalize()}."
        else:
            outlet = rng.choice(outlets)
            title = f"{rng.choice(['Besoin', 'Recherche', 'Cherche'])} : {outlet}"
            description = f"{rng.choice(NEED_OPENERS)} {resource} {rng.choice(ACTIVITIES)} ({outlet})."
        company = rng.randrange(company_count)
        published = now - timedelta(days=rng.uniform(0, 365))
        listing_id = first_listing + i
        batch.append({
            "id": listing_id, "ref": f"GEN-{listing_id:07d}", "kind": kind,
            "status": "published" if rng.random() < 0.9 else rng.choice(["draft", "pending", "closed", "reserved"]),
            "company_id": first_company + company, "site_id": first_site + company, "title": title[:160],
            "description": description, "category": category, "waste_code": code.code if code else None,
            "is_hazardous": bool(code and code.is_hazardous), "quantity": round(rng.lognormvariate(2, 1.5), 3),
            "unit": rng.choice(UNITS[category]), "frequency": rng.choice(["once", "weekly", "monthly", "yearly"]),
            "price_mode": rng.choice(["free", "negotiable", "priced"]), "unit_price_eur": None,
            "published_at": published, "last_activity_at": published, "view_count": 0,
            "created_at": published, "updated_at": published,
        })
        profiles.append({"listing_id": listing_id, "title_terms": " ".join(analyze(title)),
                         "body_terms": " ".join(analyze(description)), "source_updated_at": published})
        if len(batch) == 5000 or i == count - 1:
            db.session.execute(sa.insert(Listing), batch)
            db.session.execute(sa.insert(MatchProfile), profiles)
            db.session.commit()
            batch, profiles = [], []
            rate = (i + 1) / (time.perf_counter() - start)
            print(f"\r{i + 1}/{count} annonces ({rate:,.0f}/s)", end="", flush=True)
    if db.engine.dialect.name == "postgresql":  # explicit ids were inserted: move the sequences past them
        for table in ("company", "site", "listing"):
            db.session.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM \"{table}\"))"))
        db.session.commit()
    print(f"\n{count} annonces, {company_count} entreprises en {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
