"""Matching time per new listing on a generated instance: the job's work (candidate query, prefilter,
scoring) for 40 published listings, first with a cold worker cache, then warm.

    .venv/bin/python bench/generate.py --listings 100000 --instance bench/out/100k
    .venv/bin/python bench/matching_speed.py --instance bench/out/100k
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", type=Path, required=True)
    parser.add_argument("--listings", type=int, default=40)
    args = parser.parse_args()
    os.environ["MARKETPLACE_INSTANCE_PATH"] = str(args.instance.resolve())

    import sqlalchemy as sa

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.listings.models import Listing
    from marketplace.matching.services import find_matches

    app = create_app()
    with app.app_context():
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Listing))
        ids = db.session.scalars(sa.select(Listing.id).where(Listing.status == "published")
                                 .order_by(Listing.id).limit(args.listings)).all()
        print(f"{total} listings; matching {len(ids)} published ones")
        for label in ("cold worker cache", "warm worker cache"):
            times, found = [], []
            for listing_id in ids:
                listing = db.session.get(Listing, listing_id)
                start = time.perf_counter()
                found.append(len(find_matches(listing, limit=20)))
                times.append(time.perf_counter() - start)
                db.session.rollback()
            times.sort()
            print(f"{label:18} median {statistics.median(times):.3f} s   p95 {times[int(0.95 * len(times)) - 1]:.3f} s"
                  f"   max {times[-1]:.3f} s   ({statistics.mean(found):.1f} matches on average)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
