"""Matching quality: recall@K in both directions on a set of true offer/need pairs.

Runs the product's real path in a scratch instance: `flask db upgrade`, `flask listings import
--publish --no-notify`, then `flask matching show --json`. Beside it, in the same run, the yardstick:
plain BM25 (Whoosh, same French analyzer, the listing's own text as the query, no vocabulary).

    .venv/bin/python bench/matching_quality.py                       # development set (shared data)
    .venv/bin/python bench/matching_quality.py --data bench/data/matching_validation.csv \\
        --truth bench/data/matching_validation_truth.csv             # independent validation set
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "bench" / "data"


def default_paths():
    shared = ROOT.parent / "shared" / "data"
    data = shared / "matching_dev.csv" if (shared / "matching_dev.csv").exists() else DEV / "matching_dev.csv"
    return data, data.with_name("matching_dev_truth.csv")


def flask(instance: Path, *args: str) -> str:
    env = dict(os.environ, MARKETPLACE_INSTANCE_PATH=str(instance), MARKETPLACE_HUEY_IMMEDIATE="0")
    env.pop("MARKETPLACE_DATABASE_URL", None)
    result = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"flask {' '.join(args[:2])} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def product_rankings(data: Path, refs: list[str], k: int) -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory(prefix="matching-quality-") as tmp:
        instance = Path(tmp)
        flask(instance, "db", "upgrade")
        print(flask(instance, "listings", "import", str(data), "--publish", "--no-notify").strip().splitlines()[-1])
        shown = json.loads(flask(instance, "matching", "show", *refs, "--limit", str(k), "--json"))
    return {ref: [m["ref"] for m in matches] for ref, matches in shown.items()}


def bm25_rankings(rows: list[dict], k: int) -> dict[str, list[str]]:
    """Yardstick: each listing's title + description as an OR query over the other kind, BM25F."""
    sys.path.insert(0, str(ROOT))
    from whoosh import fields, index, qparser
    from whoosh.qparser import OrGroup

    from marketplace.search.analysis import french_analyzer

    schema = fields.Schema(ref=fields.ID(stored=True), kind=fields.ID(stored=True),
                           text=fields.TEXT(analyzer=french_analyzer()))
    with tempfile.TemporaryDirectory(prefix="bm25-") as tmp:
        ix = index.create_in(tmp, schema)
        with ix.writer() as writer:
            for r in rows:
                writer.add_document(ref=r["ref"], kind=r["kind"], text=f"{r['title']} {r['description']}")
        out = {}
        with ix.searcher() as searcher:
            parser = qparser.QueryParser("text", schema, group=OrGroup)
            for r in rows:
                words = "".join(c if c.isalnum() else " " for c in f"{r['title']} {r['description']}")
                query = parser.parse(words)  # query syntax characters removed above
                other = "need" if r["kind"] == "offer" else "offer"
                hits = searcher.search(query, limit=None)
                out[r["ref"]] = [h["ref"] for h in hits if h["kind"] == other][:k]
    return out


def recall(truth: list[tuple[str, str]], rankings: dict[str, list[str]], k: int):
    offer_hits = sum(1 for o, n in truth if n in rankings.get(o, [])[:k])
    need_hits = sum(1 for o, n in truth if o in rankings.get(n, [])[:k])
    misses = [(o, n, "offer→need") for o, n in truth if n not in rankings.get(o, [])[:k]] + \
             [(n, o, "need→offer") for o, n in truth if o not in rankings.get(n, [])[:k]]
    return offer_hits / len(truth), need_hits / len(truth), misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data, truth_path = default_paths()
    parser.add_argument("--data", type=Path, default=data)
    parser.add_argument("--truth", type=Path, default=truth_path)
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()
    with open(args.data, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(args.truth, newline="", encoding="utf-8") as f:
        truth = [(r["offer_ref"], r["need_ref"]) for r in csv.DictReader(f)]
    refs = [r["ref"] for r in rows]

    print(f"{args.data.name}: {len(rows)} listings, {len(truth)} true pairs, recall@{args.k}")
    product = recall(truth, product_rankings(args.data, refs, args.k), args.k)
    baseline = recall(truth, bm25_rankings(rows, args.k), args.k)
    print(f"{'':24}{'offer→need':>12}{'need→offer':>12}{'both':>8}")
    for name, (o, n, _) in (("plain BM25 (yardstick)", baseline), ("product matching", product)):
        print(f"{name:24}{o:12.2f}{n:12.2f}{(o + n) / 2:8.2f}")
    for subject, wanted, direction in product[2]:
        print(f"  missed {direction}: {subject} should find {wanted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
