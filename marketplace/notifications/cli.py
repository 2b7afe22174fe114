"""`flask notifications …` commands."""
import click

from marketplace.extensions import db


@click.group(help="Notifications.")
def notifications():
    pass


@notifications.command("digest")
def digest():
    """Send the daily digest now (it also runs every morning in the worker); sends nothing twice."""
    from marketplace.notifications.digest import send_digests

    count = send_digests()
    db.session.commit()
    click.echo(f"{count} résumé(s) envoyé(s).")
