"""`flask backup create` / `flask backup restore` (see services.py for what an archive holds)."""
from __future__ import annotations

from pathlib import Path

import click

from marketplace.backup import services


@click.group(help="Sauvegarde et restauration de l'instance (base, fichiers déposés, réglages).")
def backup():
    pass


@backup.command("create")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Fichier à écrire (par défaut : instance/backups/backup-<date>.tar.gz).")
def create(output):
    """Write a backup archive: every table (in one consistent snapshot), uploaded files, settings."""
    try:
        path = services.create(output, progress=lambda line: click.echo(f"  {line}"))
    except services.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Sauvegarde écrite : {path}")


@backup.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(archive):
    """Restore an archive into this empty instance, then rebuild the search index."""
    from marketplace.search.cli import rebuild

    try:
        manifest = services.restore(archive, progress=lambda line: click.echo(f"  {line}"))
    except services.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restauré : sauvegarde du {manifest['created_at'][:16].replace('T', ' ')} (UTC), "
               f"{sum(manifest['tables'].values())} lignes, {manifest['uploads']} fichier(s).")
    click.echo("Reconstruction de l'index de recherche…")
    click.get_current_context().invoke(rebuild)
