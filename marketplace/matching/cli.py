"""`flask matching …` commands."""
import json

import click
import sqlalchemy as sa

from marketplace.extensions import db


@click.group(help="Mise en relation.")
def matching():
    pass


@matching.command("show")
@click.argument("refs", nargs=-1, required=True)
@click.option("--limit", default=10, show_default=True, help="Nombre de correspondances par annonce.")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON : {ref: [{ref, score, reasons}, …]}.")
def show(refs, limit, as_json):
    """Print the best matches of each listing given by its ref (computed now, nothing stored)."""
    from marketplace.listings.models import Listing
    from marketplace.matching.explain import reasons_text
    from marketplace.matching.services import find_matches

    result = {}
    for ref in refs:
        listing = db.session.scalar(sa.select(Listing).where(Listing.ref == ref))
        if listing is None:
            raise click.ClickException(f"Aucune annonce avec la référence {ref}.")
        result[ref] = [
            {"ref": other.ref or f"#{other.id}", "score": scored.score,
             "reasons": reasons_text([r.as_dict() for r in scored.reasons])}
            for other, scored in find_matches(listing, limit=limit)
        ]
    db.session.commit()  # profiles computed on the way are kept
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for ref, matches in result.items():
        click.echo(f"{ref}:")
        for m in matches:
            click.echo(f"  {m['score']:6.3f}  {m['ref']}  — {'; '.join(m['reasons'])}")
        if not matches:
            click.echo("  (aucune correspondance)")


@matching.command("refresh")
def refresh():
    """Recompute the stored matches of every published listing (after a vocabulary change)."""
    from marketplace.listings.models import Listing
    from marketplace.matching.services import refresh_matches

    ids = db.session.scalars(sa.select(Listing.id).where(Listing.status == "published")).all()
    with click.progressbar(ids, label="Mise en relation") as bar:
        for listing_id in bar:
            refresh_matches(db.session.get(Listing, listing_id))
            db.session.commit()
