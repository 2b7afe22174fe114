"""`flask search …`: rebuild the search index from the database (the source of truth), whichever the backend."""
from __future__ import annotations

import time

import click
from huey.exceptions import TaskLockedException

from marketplace.search import indexing
from marketplace.search.backends import get_backend
from marketplace.search.tasks import WRITER_LOCK, holding_writer_lock


@click.group(help="Recherche plein texte.")
def search():
    pass


@search.command("rebuild")
@click.option("--wait", "wait_seconds", default=120, show_default=True,
              help="Secondes d'attente si le worker est en train d'écrire dans l'index.")
@click.option("--break-lock", is_flag=True,
              help="Libérer d'abord le verrou d'écriture (si un worker arrêté brutalement l'a laissé).")
def rebuild(wait_seconds, break_lock):
    """Rebuild the whole index of the configured backend from the database (Whoosh: a fresh folder
    swapped in; PostgreSQL: the tables refilled in one transaction); searches go on meanwhile."""
    started = time.monotonic()
    try:
        with holding_writer_lock(wait_seconds, break_lock=break_lock):
            total = indexing.public_listing_count()
            with click.progressbar(length=total, label="Indexation des annonces publiées",
                                   show_pos=True) as bar:
                count = indexing.rebuild(progress=bar.update)
            # Changes made while it ran are in the task table: apply them before letting go.
            indexing.apply_pending()
    except TaskLockedException:
        raise click.ClickException(
            f"Un autre processus écrit dans l'index (verrou « {WRITER_LOCK} ») depuis plus de {wait_seconds} s. "
            "Réessayez, ou relancez avec --break-lock si aucun worker ne tourne.") from None
    elapsed = time.monotonic() - started
    click.echo(f"{count} annonce(s) indexée(s) en {elapsed:.1f} s dans {get_backend().location()}.")
