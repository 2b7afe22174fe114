"""Bulk import benchmark: a 10,000-row spreadsheet through `flask listings import`, first run (creates)
and second run (updates, idempotent), in a fresh instance. Prints rows per second.

    .venv/bin/python bench/import_bench.py [--rows 10000]
"""
from __future__ import annotations

import argparse
import csv
import os
import random
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
        sys.exit(result.stdout + result.stderr)
    return elapsed, result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        instance, sheet = Path(tmp) / "instance", Path(tmp) / "rows.csv"
        write_rows(sheet, args.rows, random.Random(7))
        flask(instance, "db", "upgrade")
        for label in ("first import (creates)", "second import (updates)"):
            elapsed, summary = flask(instance, "listings", "import", str(sheet), "--publish", "--no-notify")
            print(f"{label:26} {args.rows} rows in {elapsed:6.1f} s = {args.rows / elapsed:7.0f} rows/s   [{summary}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
