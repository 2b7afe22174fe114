"""`flask --app wsgi listings import FILE [--publish] [--no-notify] [--actor EMAIL]`.

Exit code 0 when the file was read (even if some lines were refused: they are listed), 1 when the
file itself cannot be used, 2 for a wrong option (unknown --actor)."""
from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--publish", is_flag=True, help="Publier directement les annonces (sinon : brouillons).")
@click.option("--no-notify", "no_notify", is_flag=True,
              help="Ne pas prévenir les entreprises dont les annonces correspondent.")
@click.option("--actor", "actor_email", metavar="EMAIL",
              help="Compte (animateur·rice ou administrateur·rice) au nom duquel importer ; par défaut : aucun.")
def import_listings(file: Path, publish: bool, no_notify: bool, actor_email: str | None):
    """Importe entreprises et annonces d'un tableau CSV ou XLSX ; une ligne déjà importée (même ref)
    est mise à jour, jamais dupliquée."""
    from marketplace.accounts.services import find_user
    from marketplace.extensions import db
    from marketplace.imports import rows
    from marketplace.imports.services import import_rows

    actor = None
    if actor_email:
        actor = find_user(actor_email)
        if actor is None:
            raise click.BadParameter(f"aucun compte pour {actor_email}.", param_hint="--actor")
        if not (actor.is_admin or actor.is_practitioner):
            raise click.BadParameter(f"{actor_email} n'est ni animateur·rice ni administrateur·rice.",
                                     param_hint="--actor")
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise click.ClickException(
            f"Impossible de lire {file} ({exc.strerror}) : vérifiez le chemin et les droits du fichier.") from None
    try:
        parsed = rows.parse(content, file.name)
    except rows.FileError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in parsed.warnings:
        click.echo(f"Attention : {warning}", err=True)

    with click.progressbar(length=len(parsed.rows), label="Import", file=sys.stderr) as bar:
        report = import_rows(parsed, actor=actor, publish=publish, notify=not no_notify,
                             progress=lambda done, _total: bar.update(done - bar.pos))
    db.session.commit()
    from marketplace.search.tasks import apply_now

    apply_now()  # interfaces.md: the search index is up to date when the command exits

    click.echo(f"créées: {report.created}, mises à jour: {report.updated}, rejetées: {report.rejected}")
    for error in report.errors:
        click.echo(f"  {error}")
