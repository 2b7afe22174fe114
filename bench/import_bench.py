"""Bulk import benchmark: a 10,000-row spreadsheet through `flask listings import`, first run (creates)
and second run (updates, idempotent), in a fresh instance or in a copy of a generated one
(--instance: the import then meets the existing listings and companies). Prints rows per second, and
beside it the yardstick: reading and checking the same sheet (what the import page's preview does:
parse, validate, look up companies and refs) without writing anything.

    .venv/bin/python bench/import_bench.py [--rows 10000] [--instance bench/out/100k]
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import QUALIFIERS, UNITS, vocabulary_terms  # noqa: E402

HEADER = ["ref", "kind", "company_name", "postcode", "city", "title", "description", "category", "waste_code",
          "quantity", "unit", "frequency"]


def write_rows(path: Path, rows: int, rng: random.Random) -> None:
    sys.path.insert(0, str(ROOT))
    from marketplace.reference import postcodes, waste_codes

    resources, outlets = vocabulary_terms()
    places = [p for group in postcodes().values() for p in group]
    entries = [w.code for w in waste_codes().values() if w.level == "entry" and not w.is_hazardous]
    companies = [(f"Entreprise {i:05d}", rng.choice(places)) for i in range(max(rows // 5, 1))]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(rows):
            name, place = rng.choice(companies)
            kind = rng.choice(["offer", "need"])
            resource = rng.choice(resources)
            category = "materials" if rng.random() < 0.7 else rng.choice(list(UNITS))
            title = (f"{resource.capitalize()} {rng.choice(QUALIFIERS)}" if kind == "offer"
                     else f"Cherche {resource} ({rng.choice(outlets)})")
            writer.writerow([f"IMP-{i:06d}", kind, name, place.postcode, place.commune, title[:150],
                             f"{title}. Disponible sur notre site de {place.commune.title()}.", category,
                             rng.choice(entries) if category == "materials" and rng.random() < 0.5 else "",
                             f"{rng.uniform(0.5, 200):.1f}", rng.choice(UNITS[category]),
                             rng.choice(["once", "weekly", "monthly", "yearly"])])


def flask(instance: Path, *args: str) -> tuple[float, str]:
    env = dict(os.environ, MARKETPLACE_INSTANCE_PATH=str(instance))
    env.pop("MARKETPLACE_DATABASE_URL", None)
    start = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    return elapsed, result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def check_only(instance: Path, sheet: Path) -> float:
    """Seconds to read and check the sheet as the import does before writing (no write)."""
    os.environ["MARKETPLACE_INSTANCE_PATH"] = str(instance)
    os.environ.pop("MARKETPLACE_DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.imports import rows as import_rows
    from marketplace.imports import services as import_services

    app = create_app()
    with app.app_context():
        start = time.perf_counter()
        parsed = import_rows.parse(sheet.read_bytes(), sheet.name)
        import_services.plan(parsed)
        elapsed = time.perf_counter() - start
        db.session.rollback()
    return elapsed


def run(rows: int = 10_000, base_instance: Path | None = None) -> dict:
    """{"rows", "first_s", "second_s", "check_s", "summaries"}: the two imports and the check-only yardstick."""
    from benchlib import copy_sqlite

    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        instance, sheet = Path(tmp) / "instance", Path(tmp) / "rows.csv"
        instance.mkdir()
        write_rows(sheet, rows, random.Random(7))
        if base_instance:  # the database and the search index, which the command brings up to date
            copy_sqlite(Path(base_instance) / "marketplace.db", instance / "marketplace.db")
            if (Path(base_instance) / "search-index").is_dir():
                shutil.copytree(Path(base_instance) / "search-index", instance / "search-index")
        flask(instance, "db", "upgrade")
        result = {"rows": rows, "base": str(base_instance) if base_instance else None, "summaries": []}
        result["check_s"] = check_only(instance, sheet)
        print(f"{'check only (yardstick)':26} {rows} rows in {result['check_s']:6.1f} s = "
              f"{rows / result['check_s']:7.0f} rows/s", flush=True)
        for key, label in (("first_s", "first import (creates)"), ("second_s", "second import (updates)")):
            elapsed, summary = flask(instance, "listings", "import", str(sheet), "--publish", "--no-notify")
            result[key] = elapsed
            result["summaries"].append(summary)
            print(f"{label:26} {rows} rows in {elapsed:6.1f} s = {rows / elapsed:7.0f} rows/s   [{summary}]",
                  flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--instance", type=Path, default=None,
                        help="import into a copy of this generated instance (default: a fresh one)")
    args = parser.parse_args()
    run(args.rows, args.instance)
    return 0


if __name__ == "__main__":
    sys.exit(main())
