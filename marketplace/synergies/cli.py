"""`flask synergies …` commands."""
import click

from marketplace.extensions import db


@click.group(help="Synergies.")
def synergies():
    pass


@synergies.command("remind")
def remind():
    """Remind practitioners of next actions due today or overdue now (the worker does it every morning);
    nobody is reminded twice for the same synergy and due date."""
    from marketplace.synergies.services import remind_due_actions

    count = remind_due_actions()
    db.session.commit()
    click.echo(f"{count} rappel(s) envoyé(s).")


@synergies.command("load-factors")
def load_factors():
    """Add the shipped emission factors (data/emission_factors_fr.csv) missing from the table;
    factors edited by an administrator are left as they are."""
    from marketplace.synergies.services import load_default_factors

    count = load_default_factors()
    db.session.commit()
    click.echo(f"{count} facteur(s) d'émission ajouté(s).")
