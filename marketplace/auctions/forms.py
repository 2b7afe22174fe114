"""Auction forms. Times are typed in the territory's local time (Europe/Paris) and stored in UTC."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from marketplace import labels
from marketplace.auctions import rules
from marketplace.auctions.labels import MODES, RETRACT_REASONS
from marketplace.companies.forms import MultiCheckboxField
from marketplace.fields import FiniteDecimalField, YearsBetween


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def to_utc(local: datetime | None) -> datetime | None:
    if local is None:
        return None
    return local.replace(tzinfo=_zone()).astimezone(timezone.utc).replace(tzinfo=None)


def to_local(utc: datetime | None) -> datetime | None:
    if utc is None:
        return None
    return utc.replace(tzinfo=timezone.utc).astimezone(_zone()).replace(tzinfo=None)


class SessionForm(FlaskForm):
    title = StringField(_l("Titre"), validators=[InputRequired(), Length(min=3, max=160)])
    territory_id = SelectField(_l("Territoire"), coerce=int, choices=[])
    mode = SelectField(_l("Déroulé"), choices=[])
    starts_at = DateTimeLocalField(_l("Début"), validators=[InputRequired(), YearsBetween()],
                                   format="%Y-%m-%dT%H:%M")
    closes_at = DateTimeLocalField(
        _l("Clôture des enchères"), validators=[Optional(), YearsBetween()], format="%Y-%m-%dT%H:%M",
        description=_l("Pour un round en ligne ou sous pli : les enchères se terminent à cette heure "
                       "(une enchère de dernière minute prolonge un round en ligne de quelques minutes)."))
    # No Optional(): it would end the checks on an empty place before validate_place runs.
    place = StringField(_l("Lieu"), validators=[Length(max=255)],
                        description=_l("Adresse de la salle, ou vide pour une session en ligne."))
    is_online = BooleanField(_l("En ligne (visioconférence ou enchères à distance)"))
    description = TextAreaField(_l("Présentation"), validators=[Optional(), Length(max=8000)])

    def __init__(self, *args, territories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.territory_id.choices = [(t.id, t.name) for t in territories]
        self.mode.choices = labels.choices(MODES)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Optional() ends the checks of an empty end time before validate_closes_at could see it.
        if self.mode.data != "live" and self.closes_at.data is None and not self.closes_at.errors:
            self.closes_at.errors.append(_l("Indiquez l'heure de clôture d'un round en ligne ou sous pli."))
            valid = False
        return valid

    def validate_closes_at(self, field):
        # An unreadable time is already an error of its own (and None here): nothing to compare.
        if self.mode.data != "live" and self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("La clôture doit suivre le début."))

    def validate_place(self, field):
        if not self.is_online.data and not (field.data or "").strip():
            raise ValidationError(_l("Indiquez le lieu, ou cochez « en ligne »."))

    def data_for_service(self) -> dict:
        return {"title": self.title.data.strip(), "mode": self.mode.data, "starts_at": to_utc(self.starts_at.data),
                "closes_at": to_utc(self.closes_at.data) if self.mode.data != "live" else None,
                "place": (self.place.data or "").strip(), "is_online": bool(self.is_online.data),
                "description": (self.description.data or "").strip()}


class InviteForm(FlaskForm):
    companies = MultiCheckboxField(_l("Entreprises à inviter"), coerce=int, choices=[],
                                    validators=[InputRequired(_l("Choisissez au moins une entreprise."))])

    def __init__(self, *args, companies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.companies.choices = [(c.id, c.name) for c in companies]


class LotForm(FlaskForm):
    listing_id = SelectField(_l("Offre"), coerce=int, choices=[])
    quantity = FiniteDecimalField(
        _l("Quantité mise en lot"), places=3,
        validators=[InputRequired(), NumberRange(min=Decimal("0.001"), max=rules.MAX_QUANTITY)])
    allow_partial = BooleanField(_l("Accepter des prises partielles"))
    min_take = FiniteDecimalField(
        _l("Prise minimale"), places=3, validators=[Optional(), NumberRange(min=Decimal("0.001"))],
        description=_l("Quand le lot se divise : la plus petite quantité qu'un preneur peut emporter."))
    reserve_unit_price_eur = FiniteDecimalField(
        _l("Prix de réserve par unité (€)"), places=2,
        validators=[Optional(), NumberRange(min=-rules.MAX_ABS_UNIT_PRICE, max=rules.MAX_ABS_UNIT_PRICE)],
        description=_l("Caché aux enchérisseurs. Négatif : le plus que vous acceptez de payer au preneur par unité."))
    pickup_from = DateField(_l("Enlèvement à partir du"), validators=[Optional()])
    pickup_until = DateField(_l("Enlèvement jusqu'au"), validators=[Optional()])
    note = TextAreaField(_l("Précisions pour les enchérisseurs"), validators=[Optional(), Length(max=4000)])

    def __init__(self, *args, listings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.listing_id.choices = [
            (x.id, f"{x.company.name} — {x.title} ({labels.format_quantity(x.quantity)} {labels.UNITS.get(x.unit or '', '')})")
            for x in listings]

    def validate_min_take(self, field):
        if field.data is not None and self.quantity.data is not None and field.data > self.quantity.data:
            raise ValidationError(_l("La prise minimale dépasse la quantité du lot."))

    def validate_pickup_until(self, field):
        if field.data and self.pickup_from.data and field.data < self.pickup_from.data:
            raise ValidationError(_l("La fin de l'enlèvement précède son début."))

    def data_for_service(self) -> dict:
        return {"quantity": self.quantity.data, "allow_partial": bool(self.allow_partial.data),
                "min_take": self.min_take.data if self.allow_partial.data else None,
                "reserve_unit_price_eur": self.reserve_unit_price_eur.data, "pickup_from": self.pickup_from.data,
                "pickup_until": self.pickup_until.data, "note": self.note.data or ""}


class BidForm(FlaskForm):
    unit_price_eur = FiniteDecimalField(
        _l("Prix par unité (€)"), places=2, validators=[Optional()],
        description=_l("Positif : vous payez le cédant. Négatif : le cédant vous paie pour l'enlever."))
    interest_only = BooleanField(_l("Intérêt sans prix (à négocier)"))
    quantity = FiniteDecimalField(_l("Quantité"), places=3,
                                  validators=[InputRequired(), NumberRange(min=Decimal("0.001"))])
    message = TextAreaField(_l("Message au cédant (facultatif)"), validators=[Optional(), Length(max=2000)])
    # One key per displayed form: a double click or a retried request stores the bid once.
    client_key = HiddenField(validators=[Optional(), Length(max=64)])

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Optional() ends the checks of an empty price: without this, it would pass as an interest.
        if not self.interest_only.data and self.unit_price_eur.data is None and not self.unit_price_eur.errors:
            self.unit_price_eur.errors.append(_l("Indiquez un prix, ou cochez « intérêt sans prix »."))
            valid = False
        return valid

    def price(self) -> Decimal | None:
        return None if self.interest_only.data else self.unit_price_eur.data


class RetractForm(FlaskForm):
    reason = SelectField(_l("Motif du retrait"), choices=[])
    note = StringField(_l("Précision"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = labels.choices(RETRACT_REASONS)


class ConsentForm(FlaskForm):
    answer = SelectField(choices=[("accept", ""), ("refuse", "")])
    reserve_unit_price_eur = FiniteDecimalField(
        _l("Prix de réserve par unité (€)"), places=2,
        validators=[Optional(), NumberRange(min=-rules.MAX_ABS_UNIT_PRICE, max=rules.MAX_ABS_UNIT_PRICE)])


class AwardForm(FlaskForm):
    decision = SelectField(choices=[("confirm", ""), ("decline", "")])
    reason = StringField(_l("Motif (si vous déclinez)"), validators=[Optional(), Length(max=500)])


class LastCallForm(FlaskForm):
    seconds = IntegerField(_l("Secondes"), validators=[Optional(), NumberRange(min=5, max=600)])


class RelaunchForm(FlaskForm):
    lot_ids = MultiCheckboxField(_l("Lots à relancer"), coerce=int, choices=[],
                                  validators=[InputRequired(_l("Choisissez au moins un lot."))])
    radius_km = IntegerField(_l("Rayon (km)"), validators=[InputRequired(), NumberRange(min=1, max=1000)])
    days = IntegerField(_l("Durée (jours)"), validators=[InputRequired(), NumberRange(min=1, max=60)])

    def __init__(self, *args, lots=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.lot_ids.choices = [(x.id, f"{x.listing.title} — {labels.format_quantity(x.quantity_remaining)} {labels.UNITS.get(x.unit, x.unit)}")
                                for x in lots]


class CheckInForm(FlaskForm):
    present = SelectField(choices=[("1", ""), ("0", "")])
