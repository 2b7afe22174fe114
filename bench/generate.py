"""Data generator for benchmarks: realistic listings built from the reference data (categories,
waste codes and their French wording, postcodes with coordinates, the field's vocabulary).

    .venv/bin/python bench/generate.py --listings 100000 --instance bench/out/100k
    .venv/bin/python bench/generate.py --listings 100000 --database-url postgresql+psycopg://…/bench

Creates (or reuses) the instance, migrates it, and bulk-inserts companies, sites and listings with
their matching profiles, in batches of 5,000 (one transaction each), with a progress line.
Deterministic for a given --seed: each batch draws from its own random generator, so the same seed
gives the same data on SQLite and on PostgreSQL. Cached and resumable: the instance folder keeps
`generated.json` (seed, size, first ids); run again with the same arguments and it inserts only the
batches still missing, or nothing. 1,000,000 listings take about 8 minutes on SQLite."""
from __future__ import annotations

import argparse
import json
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


BATCH = 5000  # listings per transaction


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--instance", type=Path, default=ROOT / "bench" / "out" / "data")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=29900)
    args = parser.parse_args()
    ensure_data(args.instance, args.listings, seed=args.seed, database_url=args.database_url)
    return 0


def create_database(url: str) -> None:
    """CREATE DATABASE for a PostgreSQL URL whose database does not exist yet; nothing for SQLite."""
    import sqlalchemy as sa

    target = sa.make_url(url)
    if not target.drivername.startswith("postgresql"):
        return
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                {"name": target.database}).scalar():
                conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def ensure_data(instance: Path, count: int, seed: int = 29900, database_url: str | None = None) -> dict:
    """Make sure the instance (and its database) holds the `count` generated listings: migrate, then
    insert whatever is missing. Returns the state in generated.json plus `cached` (nothing was left to
    do) and `seconds_now` (time spent in this call)."""
    instance = Path(instance)
    instance.mkdir(parents=True, exist_ok=True)
    os.environ["MARKETPLACE_INSTANCE_PATH"] = str(instance.resolve())
    if database_url:
        os.environ["MARKETPLACE_DATABASE_URL"] = database_url
        create_database(database_url)
    else:
        os.environ.pop("MARKETPLACE_DATABASE_URL", None)
    from flask_migrate import upgrade

    from marketplace import create_app

    app = create_app({"DATABASE_URL": database_url} if database_url else None)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        state = generate(count, seed, instance / "generated.json", database_url or "sqlite")
        refresh_statistics()
        return state


def refresh_statistics() -> None:
    """The query planner's statistics, as a running site has them after its first night (the nightly
    `refresh_statistics` job on SQLite, autovacuum's ANALYZE on PostgreSQL): a bulk load leaves none."""
    import sqlalchemy as sa

    from marketplace.extensions import db

    with db.engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))


def generate(count: int, seed: int | random.Random, state_path: Path | None = None, target: str = "") -> dict:
    """Insert `count` listings (and count/5 companies with one site each) into the app's database."""
    import sqlalchemy as sa

    from marketplace.accounts.models import Company, Site
    from marketplace.extensions import db
    from marketplace.listings.models import Listing
    from marketplace.matching.models import MatchProfile
    from marketplace.models_base import utcnow
    from marketplace.reference import postcodes, waste_codes
    from marketplace.search.analysis import analyze

    if isinstance(seed, random.Random):
        seed = seed.randrange(2 ** 31)
    started = time.perf_counter()
    state = json.loads(state_path.read_text()) if state_path and state_path.exists() else None
    if state and (state["seed"], state["listings"], state.get("target", "")) != (seed, count, target):
        raise SystemExit(f"{state_path} describes other data ({state}): delete that folder to generate anew")
    company_count = max(count // 5, 1)
    if state is None:
        state = {"seed": seed, "listings": count, "companies": company_count, "target": target,
                 "first_company": (db.session.scalar(sa.select(sa.func.max(Company.id))) or 0) + 1,
                 "first_site": (db.session.scalar(sa.select(sa.func.max(Site.id))) or 0) + 1,
                 "first_listing": (db.session.scalar(sa.select(sa.func.max(Listing.id))) or 0) + 1,
                 "complete": False, "seconds": 0.0}
        if state_path:
            state_path.write_text(json.dumps(state, indent=1))
    first_company, first_site, first_listing = state["first_company"], state["first_site"], state["first_listing"]
    done = db.session.scalar(sa.select(sa.func.count()).select_from(Listing).where(
        Listing.id.between(first_listing, first_listing + count - 1))) or 0
    if done == count and state.get("complete"):
        return {**state, "cached": True, "seconds_now": 0.0}
    if done % BATCH and done != count:
        raise SystemExit(f"{done} generated listings is not a whole number of batches: delete the folder")

    resources, outlets = vocabulary_terms()
    entries = [w for w in waste_codes().values() if w.level == "entry"]
    places = [p for group in postcodes().values() for p in group]
    categories = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    now = utcnow()

    if db.session.get(Company, first_company) is None:  # companies and their sites: one transaction
        rng = random.Random(f"{seed}:companies")
        for chunk in range(0, company_count, 20_000):
            companies, sites = [], []
            for i in range(chunk, min(chunk + 20_000, company_count)):
                place = rng.choice(places)
                companies.append({"id": first_company + i, "name": f"Entreprise {first_company + i:06d}",
                                  "description": "", "is_solution_provider": rng.random() < 0.05,
                                  "handled_categories": "", "handled_waste_codes": "", "treatment_operations": "",
                                  "created_at": now, "updated_at": now})
                sites.append({"id": first_site + i, "company_id": first_company + i, "name": "Site principal",
                              "address": "", "postcode": place.postcode, "city": place.commune.title(),
                              "latitude": place.latitude, "longitude": place.longitude, "created_at": now,
                              "updated_at": now})
            db.session.execute(sa.insert(Company), companies)
            db.session.execute(sa.insert(Site), sites)
        db.session.commit()

    # Each batch is one transaction drawn from its own generator: an interrupted run resumes at the
    # first missing batch and ends with exactly the data an uninterrupted one would have made.
    batch_count = (count + BATCH - 1) // BATCH
    if done:
        print(f"reprise : {done}/{count} annonces déjà générées", flush=True)
    inserted, loop_start = 0, time.perf_counter()
    for b in range(done // BATCH if done != count else batch_count, batch_count):
        rng = random.Random(f"{seed}:listings:{b}")
        batch, profiles = [], []
        for i in range(b * BATCH, min((b + 1) * BATCH, count)):
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
        db.session.execute(sa.insert(Listing), batch)
        db.session.execute(sa.insert(MatchProfile), profiles)
        db.session.commit()
        inserted += len(batch)
        rate = inserted / (time.perf_counter() - loop_start)
        print(f"\r{b * BATCH + len(batch)}/{count} annonces ({rate:,.0f}/s)", end="", flush=True)
    if db.engine.dialect.name == "postgresql":  # explicit ids were inserted: move the sequences past them
        for table in ("company", "site", "listing"):
            db.session.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM \"{table}\"))"))
        db.session.commit()
    elapsed = time.perf_counter() - started
    state.update(complete=True, seconds=round(state.get("seconds", 0.0) + elapsed, 1))
    if state_path:
        state_path.write_text(json.dumps(state, indent=1))
    print(f"\n{count} annonces, {company_count} entreprises en {elapsed:.1f} s", flush=True)
    return {**state, "cached": False, "seconds_now": round(elapsed, 1)}


if __name__ == "__main__":
    sys.exit(main())
