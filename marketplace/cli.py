"""`flask --app wsgi …` commands, grouped by domain."""
from __future__ import annotations

import secrets

import click
import sqlalchemy as sa
from flask import Flask

from marketplace.extensions import db
from marketplace.imports.cli import import_listings


def register_cli(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(listings)
    app.cli.add_command(demo)
    from marketplace.matching.cli import matching

    app.cli.add_command(matching)
    from marketplace.search.cli import search

    app.cli.add_command(search)
    from marketplace.notifications.cli import notifications

    app.cli.add_command(notifications)
    from marketplace.synergies.cli import synergies

    app.cli.add_command(synergies)
    from marketplace.backup.cli import backup

    app.cli.add_command(backup)


@click.group(help="Comptes utilisateurs.")
def users():
    pass


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["member", "practitioner", "admin"]), default="member", show_default=True)
@click.option("--company", "company_ref", help="Entreprise de rattachement : identifiant numérique ou nom exact.")
@click.option("--name", "full_name", help="Nom affiché (par défaut : la partie avant @).")
@click.option("--password", help="Mot de passe (par défaut : généré et affiché).")
@click.option("--territory", "territories", multiple=True, help="Territoire animé (nom ou identifiant), répétable.")
def create_user(email, role, company_ref, full_name, password, territories):
    """Create a confirmed account; prints the password when it was generated."""
    from marketplace.accounts.models import Company, Territory
    from marketplace.accounts.services import create_user as make_user
    from marketplace.accounts.services import find_user
    from marketplace.territories.services import assign_practitioner

    if find_user(email):
        raise click.ClickException(f"Un compte existe déjà pour {email}.")
    company = None
    if company_ref:
        company = db.session.get(Company, int(company_ref)) if company_ref.isdigit() else db.session.scalar(
            sa.select(Company).where(Company.name == company_ref))
        if company is None:
            raise click.ClickException(f"Entreprise inconnue : {company_ref}")
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    user = make_user(email, password, full_name or email.split("@")[0], confirmed=True,
                     is_admin=(role == "admin"), company=company)
    for ref in territories:
        territory = db.session.get(Territory, int(ref)) if ref.isdigit() else db.session.scalar(
            sa.select(Territory).where(Territory.name == ref))
        if territory is None:
            raise click.ClickException(f"Territoire inconnu : {ref}")
        assign_practitioner(territory, user)
    if role == "practitioner" and not territories:
        click.echo("Note : assignez un territoire à cet·te animateur·rice depuis la page Territoires.")
    db.session.commit()
    click.echo(f"Compte créé : {user.email} ({role})")
    if generated:
        click.echo(f"Mot de passe : {password}")


@users.command("token")
@click.argument("email")
@click.option("--name", default="", help="À quoi sert ce jeton (affiché nulle part ailleurs).")
def create_token(email, name):
    """Create an API token for a user and print it (it is shown only once)."""
    from marketplace.accounts.services import find_user
    from marketplace.api.models import ApiToken

    user = find_user(email)
    if user is None:
        raise click.ClickException(f"Aucun compte pour {email}.")
    _row, token = ApiToken.issue(user, name)
    db.session.commit()
    click.echo(token)


@click.group(help="Annonces.")
def listings():
    pass


@listings.command("expire")
def expire_listings():
    """Mark listings past their expiry date as expired."""
    from marketplace.listings.services import expire_due

    count = expire_due()
    db.session.commit()
    click.echo(f"{count} annonce(s) expirée(s).")


@listings.command("relaunch-dormant")
@click.option("--days", type=click.IntRange(min=1), help="Dormante après N jours (par défaut : le réglage de chaque territoire).")
@click.option("--territory", "territory_refs", multiple=True, help="Territoire (nom ou identifiant), répétable ; par défaut tous.")
@click.option("--dry-run", is_flag=True, help="Montrer ce qui serait fait, sans rien envoyer ni modifier.")
def relaunch_dormant(days, territory_refs, dry_run):
    """Relaunch the owners of dormant listings (one e-mail per person); expire those left without answer to two relaunches."""
    from marketplace.accounts.models import Territory
    from marketplace.practitioner.relaunch import dormant_ads, relaunch

    territory_ids = None
    if territory_refs:
        territory_ids = set()
        for ref in territory_refs:
            territory = db.session.get(Territory, int(ref)) if ref.isdigit() else db.session.scalar(
                sa.select(Territory).where(Territory.name == ref))
            if territory is None:
                raise click.ClickException(f"Territoire inconnu : {ref}")
            territory_ids.add(territory.id)
    ads = dormant_ads(territory_ids, days, lock=not dry_run)
    prefix = "[simulation] " if dry_run else ""
    click.echo(f"{prefix}{len(ads)} annonce(s) dormante(s).")
    report = relaunch(ads, None, dry_run=dry_run)
    if not dry_run:
        db.session.commit()
    verbs = {"relaunched": "relancée", "expired": "expirée (deux relances sans réponse)",
             "waiting": "en attente de réponse", "no_contact": "sans personne à prévenir"}
    outcome = {listing.id: verb for verb in verbs for listing in getattr(report, verb)}
    for ad in ads:
        listing = ad.listing
        click.echo(f"{prefix}#{listing.id} « {listing.title} » ({listing.company.name}, {ad.idle_days} j) : "
                   f"{verbs[outcome[listing.id]]}")
    for person, items in report.messages:
        click.echo(f"{prefix}message à {person.email} : {len(items)} annonce(s)")
    done = "seraient" if dry_run else "ont été"
    click.echo(f"{prefix}{len(report.relaunched)} annonce(s) {done} relancée(s), {len(report.messages)} message(s), "
               f"{len(report.expired)} expirée(s), {len(report.waiting)} en attente.")
    if dry_run:
        click.echo("Simulation : rien n'a été envoyé ni modifié.")


listings.add_command(import_listings)


@click.group(help="Données de démonstration.")
def demo():
    pass


@demo.command("load")
@click.option("--force", is_flag=True, help="Charger même si la base contient déjà des entreprises.")
def load_demo(force):
    """Load the Concarneau–Quimper demo territory (once), print the demo accounts."""
    from marketplace.demo import load

    accounts = load(force=force)
    if accounts is None:
        click.echo("Données de démonstration déjà présentes : rien à faire.")
        return
    click.echo("Données de démonstration chargées. Comptes :")
    for role, email, password in accounts:
        click.echo(f"  {role:<14} {email:<40} {password}")
