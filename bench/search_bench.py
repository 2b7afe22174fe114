"""Search benchmark on a generated instance: reindex time, then the same queries three ways, side by side
in one run — the search page (full request, rendering included), the search backend's query behind it
(Whoosh by default, or PostgreSQL full-text search), and SQLite FTS5 on the same listings (the yardstick).

    .venv/bin/python bench/generate.py --listings 100000 --instance bench/out/100k
    .venv/bin/python bench/search_bench.py --instance bench/out/100k
    .venv/bin/python bench/generate.py --listings 100000 --instance bench/out/100k-pg --database-url URL
    .venv/bin/python bench/search_bench.py --instance bench/out/100k-pg --backend postgresql --database-url URL
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = [
    {"q": "palettes"}, {"q": "big bag"}, {"q": "chaleur fatale"}, {"q": "drêches brasserie"},
    {"q": "huiles usagées"}, {"q": "bois"}, {"q": "plaque de plâtre"}, {"q": "fenwick"},
    {"q": "copeaux aluminium usinage"}, {"q": "eau de pluie arrosage"}, {"q": "cartons", "kind": "offer"},
    {"q": "sciure", "category": "materials"}, {"q": "transport", "postcode": "29000", "radius_km": "50"},
    {"q": ""}, {"q": "", "postcode": "69001", "radius_km": "30"}, {"q": "palete"},
]
ROUNDS = 5


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def fts5_words(q: str) -> str:
    from marketplace.search.analysis import analyze

    terms = analyze(q)
    return " AND ".join(f'"{t}"*' for t in terms)


def build_fts5(path: Path, rows) -> float:
    start = time.perf_counter()
    con = sqlite3.connect(path)
    con.execute("CREATE VIRTUAL TABLE doc USING fts5(title, description, content='', tokenize='unicode61 remove_diacritics 2')")
    con.executemany("INSERT INTO doc(rowid, title, description) VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()
    return time.perf_counter() - start


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", type=Path, required=True)
    parser.add_argument("--skip-rebuild", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="also print each query's median")
    parser.add_argument("--backend", choices=("whoosh", "postgresql"), default="whoosh",
                        help="the search backend measured (SEARCH_BACKEND)")
    parser.add_argument("--database-url", default=None,
                        help="the instance's database if not its SQLite file (postgresql+psycopg://…)")
    return parser


def run(argv: list[str] | None = None) -> dict:
    """Parse the command line (argparse exits with status 2 on an unknown option), run the benchmark and
    return its figures in seconds: {"reindex_s", "fts5_build_s", "documents", "page", "engine", "fts5",
    "per_query"}, each of page/engine/fts5 a list of timings. bench/run_all.py calls this."""
    args = build_parser().parse_args(argv)
    os.environ["MARKETPLACE_INSTANCE_PATH"] = str(args.instance.resolve())
    result: dict = {"backend": args.backend, "reindex_s": None, "verbose": args.verbose}
    # Given to the rebuild command and to the app here, not left in this process's environment.
    settings = {"SEARCH_BACKEND": args.backend, **({"DATABASE_URL": args.database_url} if args.database_url else {})}

    if not args.skip_rebuild:
        start = time.perf_counter()
        env = {**os.environ, **{f"MARKETPLACE_{key}": value for key, value in settings.items()}}
        subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "search", "rebuild"], cwd=ROOT,
                       check=True, capture_output=True, env=env)
        result["reindex_s"] = time.perf_counter() - start
        print(f"reindex (flask search rebuild): {result['reindex_s']:.1f} s")

    import sqlalchemy as sa

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.listings.models import Listing
    from marketplace.search import queries
    from marketplace.search.backends import get_backend
    from marketplace.search.views import _thesaurus_words
    from marketplace.vocabulary import services as vocabulary_services

    app = create_app({"RATELIMIT_ENABLED": False, **settings})
    with app.app_context():
        rows = db.session.execute(sa.select(Listing.id, Listing.title, Listing.description)
                                  .where(Listing.status.in_(("published", "reserved")))).all()
        fts_path = args.instance / "fts5-yardstick.db"
        fts_path.unlink(missing_ok=True)
        result["documents"] = len(rows)
        result["fts5_build_s"] = build_fts5(fts_path, rows)
        print(f"{len(rows)} searchable listings; FTS5 index built in {result['fts5_build_s']:.1f} s")
        client = app.test_client()
        vocabulary = vocabulary_services.current()
        fts = sqlite3.connect(fts_path)
        page_times, whoosh_times, fts_times = [], [], []
        per_query: dict[str, list[float]] = {}
        for query in QUERIES * ROUNDS:
            url = "/recherche?" + urlencode(query)
            start = time.perf_counter()
            response = client.get(url)
            page_times.append(time.perf_counter() - start)
            per_query.setdefault(urlencode(query), []).append(page_times[-1])
            assert response.status_code == 200, (url, response.status_code)

            from marketplace import reference

            place = reference.locate(query["postcode"]) if query.get("postcode") else None
            params = queries.SearchParams(q=query["q"], kind=query.get("kind"), category=query.get("category"),
                                          latitude=place.latitude if place else None,
                                          longitude=place.longitude if place else None,
                                          radius_km=float(query["radius_km"]) if place else None)
            start = time.perf_counter()
            get_backend().search(params, vocabulary, _thesaurus_words)
            whoosh_times.append(time.perf_counter() - start)

            match = fts5_words(query["q"])
            start = time.perf_counter()
            if match:
                fts.execute("SELECT rowid FROM doc WHERE doc MATCH ? ORDER BY bm25(doc) LIMIT 20", (match,)).fetchall()
                fts.execute("SELECT count(*) FROM doc WHERE doc MATCH ?", (match,)).fetchone()
            else:
                fts.execute("SELECT rowid FROM doc ORDER BY rowid DESC LIMIT 20").fetchall()
            fts_times.append(time.perf_counter() - start)
        fts.close()
    result.update(page=page_times, engine=whoosh_times, fts5=fts_times, per_query=per_query)
    return result


def report(result: dict) -> None:
    page_times, whoosh_times, fts_times = result["page"], result["engine"], result["fts5"]
    per_query = result["per_query"]
    print(f"{len(QUERIES)} queries × {ROUNDS} rounds")
    print(f"{'':28}{'p50 ms':>10}{'p95 ms':>10}")
    engine = {"whoosh": "Whoosh", "postgresql": "PostgreSQL"}.get(result.get("backend"), "Whoosh")
    for name, values in ((f"search page ({engine})", page_times), (f"{engine} query only", whoosh_times),
                         ("SQLite FTS5 (yardstick)", fts_times)):
        print(f"{name:28}{statistics.median(values) * 1000:10.1f}{percentile(values, 95) * 1000:10.1f}")
    if result.get("verbose"):
        for query, values in sorted(per_query.items(), key=lambda kv: -statistics.median(kv[1])):
            print(f"  page median {statistics.median(values) * 1000:7.1f} ms  {query}")


def main(argv: list[str] | None = None) -> int:
    report(run(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
