"""Creating, moving and following synergies; their benefits and the emission factors CO2e uses.
Functions take the acting user (None for jobs), flush, never commit. Each change that reads a
synergy's state before deciding first bumps its row (an UPDATE): concurrent moves of the same
synergy are serialised (a row lock on PostgreSQL, the write lock on SQLite)."""
from __future__ import annotations

import csv
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import Company, Territory, User
from marketplace.extensions import db
from marketplace.labels import format_date
from marketplace.models_base import savepoint, utcnow
from marketplace.notifications.services import external_url, notify
from marketplace.synergies import rules
from marketplace.synergies.models import EmissionFactor, Synergy, SynergyBenefit, SynergyEvent

# Resource families exchanged as matter or energy (ME); the others share people and means (TH).
ME_CATEGORIES = ("materials", "energy", "water")
FACTORS_FILE = Path(__file__).resolve().parent.parent / "data" / "emission_factors_fr.csv"
BENEFIT_FIGURES = ("tonnes_reused", "tonnes_diverted", "tonnes_virgin_substituted", "co2e_tonnes", "mwh_saved",
                   "mwh_produced", "eur_saved", "eur_additional_sales", "jobs", "m2_shared",
                   "private_investment_eur", "public_investment_eur")

MESSAGES = {
    "not_allowed": _l("Vous ne pouvez pas faire cela sur cette synergie."),
    "unknown_stage": _l("Étape inconnue."),
    "same_stage": _l("La synergie est déjà à cette étape."),
    "cannot_stop": _l("Seule une synergie en cours peut être bloquée ou abandonnée."),
    "reason_missing": _l("Indiquez le motif : réglementaire, technique, financier, distance, motivation ou autre."),
    "note_missing": _l("Précisez le motif « autre »."),
    "reopen_to_previous": _l("Une synergie arrêtée reprend à l'étape où elle s'était arrêtée."),
    "final": _l("Cette synergie est close : seule l'animation peut la rouvrir."),
    "backward_one_step": _l("Une synergie ne recule que d'une étape à la fois."),
    "same_company": _l("Choisissez deux entreprises différentes."),
    "company_outside_territory": _l("Au moins une des deux entreprises doit avoir un site dans le territoire."),
    "bad_sub_type": _l("Ce sous-type ne correspond pas au type de synergie."),
    "follower_not_practitioner": _l("La personne qui suit la synergie doit animer son territoire."),
    "factor_unknown": _l("Facteur d'émission inconnu ou désactivé."),
    "basis_mismatch": _l("Ce facteur ne s'applique pas à la grandeur choisie (tonnes ou MWh)."),
    "basis_missing": _l("Renseignez la quantité à laquelle appliquer le facteur d'émission."),
    "figure_out_of_range": _l("Valeur hors limites."),
}


class SynergyError(Exception):
    """An action the rules, the person's rights or the synergy's state do not allow; `code` keys MESSAGES."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


def kind_for(category: str) -> str:
    return "ME" if category in ME_CATEGORIES else "TH"


def local_today() -> date:
    """Today in the territories' time zone: due dates are calendar days there."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.now(timezone.utc).astimezone(zone).date()


def _event(synergy: Synergy, actor: User | None, action: str, from_stage: str | None = None,
           to_stage: str | None = None, **detail) -> SynergyEvent:
    event = SynergyEvent(synergy_id=synergy.id, actor_id=actor.id if actor else None, action=action,
                         from_stage=from_stage, to_stage=to_stage, detail=detail or None)
    db.session.add(event)
    return event


def _lock(synergy: Synergy) -> Synergy:
    """Take the synergy's row before deciding on its state, then read that state afresh."""
    db.session.execute(sa.update(Synergy).where(Synergy.id == synergy.id).values(updated_at=utcnow())
                       .execution_options(synchronize_session=False))
    db.session.refresh(synergy)
    return synergy


def _plain(value):
    """JSON-friendly copy of a figure for the history."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- creation ----------------------------------------------------------------------------------


def create_from_award(award, actor) -> Synergy:
    """An auction award the giver confirmed: the two companies now negotiate the exchange. The
    practitioner who created the session follows it."""
    lot = award.lot
    listing = lot.listing
    session = lot.round.session
    runner = session.created_by
    follower = runner.id if runner is not None and session.territory_id in runner.territory_ids else None
    synergy = Synergy(
        territory_id=session.territory_id, title=listing.title, stage="negotiation",
        kind=kind_for(listing.category), origin="auction", giver_company_id=listing.company_id,
        taker_company_id=award.company_id, listing_id=listing.id, award_id=award.id, quantity=award.quantity,
        unit=lot.unit, unit_price_eur=award.unit_price_eur, created_by_id=actor.id if actor else None,
        followed_by_id=follower, is_continuous=listing.frequency not in (None, "once"),
    )
    db.session.add(synergy)
    db.session.flush()
    _event(synergy, actor, "created", to_stage=synergy.stage, origin="auction", award_id=award.id)
    return synergy


def territory_for_pair(offer, need, actor: User | None) -> Territory | None:
    """The territory a synergy between two listings belongs to: one both sites share if any, else the
    offer's, else the need's; among equals, one the acting practitioner runs."""
    offer_ids = {t.id for t in offer.site.territories}
    need_ids = {t.id for t in need.site.territories}
    mine = actor.territory_ids if actor and actor.is_authenticated else set()
    for candidates in (offer_ids & need_ids & mine, offer_ids & need_ids, (offer_ids | need_ids) & mine,
                       offer_ids, need_ids):
        if candidates:
            return db.session.get(Territory, min(candidates))
    return None


def can_create_from_match(match, user) -> bool:
    """Either company of the pair, a practitioner of either site's territory, an administrator."""
    if not (user and user.is_authenticated):
        return False
    offer, need = match.offer, match.need
    if user.company_id and user.company_id in (offer.company_id, need.company_id):
        return True
    return user.moderates_site(offer.site) or user.moderates_site(need.site)


def synergy_for_pair(offer_id: int, need_id: int) -> Synergy | None:
    return db.session.scalar(sa.select(Synergy).where(Synergy.listing_id == offer_id,
                                                      Synergy.need_listing_id == need_id))


def create_from_match(actor: User, match) -> tuple[Synergy, bool]:
    """"Nous sommes en discussion" on a match: a synergy in discussion between the two companies.
    Never twice for the same pair: (synergy, False) when it already exists (also under concurrency,
    thanks to the unique pair)."""
    if not can_create_from_match(match, actor):
        raise SynergyError("not_allowed")
    existing = synergy_for_pair(match.offer_id, match.need_id)
    if existing is not None:
        return existing, False
    offer, need = match.offer, match.need
    territory = territory_for_pair(offer, need, actor)
    synergy = Synergy(
        territory_id=territory.id if territory else None, title=offer.title, stage="discussion",
        kind=kind_for(offer.category), origin="match", giver_company_id=offer.company_id,
        taker_company_id=need.company_id, listing_id=offer.id, need_listing_id=need.id,
        created_by_id=actor.id, is_continuous=offer.frequency not in (None, "once"),
        followed_by_id=actor.id if territory and territory.id in actor.territory_ids else None,
    )
    try:
        with savepoint():
            db.session.add(synergy)
            db.session.flush()
    except IntegrityError:
        existing = synergy_for_pair(match.offer_id, match.need_id)
        if existing is None:
            raise
        return existing, False
    _event(synergy, actor, "created", to_stage=synergy.stage, origin="match", match_id=match.id)
    _tell_new(synergy, actor)
    return synergy, True


def _tell_new(synergy: Synergy, actor: User) -> None:
    """The other company and the territory's practitioners hear of a synergy someone else started."""
    link = external_url("synergies.show", synergy_id=synergy.id)
    others = [c for c in (synergy.giver, synergy.taker) if c is not None and c.id != actor.company_id]
    starter = actor.company.name if actor.company else actor.full_name
    for company in others:
        for user in company.members:
            notify(user, "synergy", _l("Synergie en discussion : %(title)s", title=synergy.title),
                   _l("%(who)s indique être en discussion avec votre entreprise. "
                      "L'animation du territoire suit l'échange.", who=starter),
                   link, f"synergy-new:{synergy.id}")
    if synergy.territory is not None:
        for user in synergy.territory.practitioners:
            if user.id != actor.id:
                notify(user, "synergy", _l("Nouvelle synergie à suivre : %(title)s", title=synergy.title),
                       _l("%(giver)s → %(taker)s, née d'une mise en relation.",
                          giver=synergy.giver.name if synergy.giver else "—",
                          taker=synergy.taker.name if synergy.taker else "—"), link, f"synergy-new:{synergy.id}")


def manages_territory(user: User | None, territory: Territory | None) -> bool:
    if not (user and user.is_authenticated and territory is not None):
        return False
    return user.is_admin or territory.id in user.territory_ids


def create_manual(actor: User, territory: Territory, data: dict) -> Synergy:
    """A synergy entered by a practitioner of `territory` (or an administrator) between two companies,
    at least one with a site in the territory. `data`: title, kind, sub_type, is_continuous, giver,
    taker (companies), listing (optional), quantity, unit, stage (of the pipeline, default idea),
    next_action, next_action_due, notes."""
    if not manages_territory(actor, territory):
        raise SynergyError("not_allowed")
    giver: Company = data["giver"]
    taker: Company = data["taker"]
    if giver.id == taker.id:
        raise SynergyError("same_company")
    if territory.id not in giver.territory_ids | taker.territory_ids:
        raise SynergyError("company_outside_territory")
    kind = data.get("kind") or "ME"
    if kind not in rules.KINDS or not rules.sub_type_allowed(kind, data.get("sub_type")):
        raise SynergyError("bad_sub_type")
    stage = data.get("stage") or "idea"
    if stage not in rules.PIPELINE:
        raise SynergyError("unknown_stage")
    listing = data.get("listing")
    synergy = Synergy(
        territory_id=territory.id, title=data["title"].strip(), stage=stage, kind=kind,
        sub_type=data.get("sub_type") or None, is_continuous=bool(data.get("is_continuous")), origin="manual",
        giver_company_id=giver.id, taker_company_id=taker.id, listing_id=listing.id if listing else None,
        quantity=data.get("quantity"), unit=data.get("unit") or None, created_by_id=actor.id,
        followed_by_id=actor.id if territory.id in actor.territory_ids else None,
        next_action=(data.get("next_action") or "").strip() or None, next_action_due=data.get("next_action_due"),
        notes=(data.get("notes") or "").strip(),
    )
    db.session.add(synergy)
    db.session.flush()
    _event(synergy, actor, "created", to_stage=stage, origin="manual")
    return synergy


# --- following ---------------------------------------------------------------------------------


def move(actor: User, synergy: Synergy, target: str, reason: str | None = None, note: str = "") -> Synergy:
    """Change the stage (rules.move_problem says which moves are allowed). A stop records its reason
    and the stage it stopped at; reopening clears them. Only whoever manages the synergy moves it."""
    if not synergy.can_manage(actor):
        raise SynergyError("not_allowed")
    _lock(synergy)
    note = (note or "").strip()
    problem = rules.move_problem(synergy.stage, target, previous=synergy.previous_stage, reason=reason, note=note,
                                 may_reopen=True)
    if problem:
        raise SynergyError(problem)
    current = synergy.stage
    synergy.previous_stage = rules.previous_after_move(current, target, synergy.previous_stage)
    if target in rules.STOPPED:
        synergy.stop_reason, synergy.stop_note = reason, note or None
    else:
        synergy.stop_reason = synergy.stop_note = None
    synergy.stage = target
    synergy.stage_changed_at = utcnow()
    detail = {"reason": reason, "note": note} if target in rules.STOPPED else {}
    _event(synergy, actor, "stage", from_stage=current, to_stage=target, **detail)
    db.session.flush()
    return synergy


def set_next_action(actor: User, synergy: Synergy, text: str | None, due: date | None) -> Synergy:
    """The next thing to do and by when (both may be cleared). A new due date means a new reminder."""
    if not synergy.can_manage(actor):
        raise SynergyError("not_allowed")
    _lock(synergy)
    text = (text or "").strip() or None
    synergy.next_action, synergy.next_action_due = text, due
    _event(synergy, actor, "next_action", next_action=text, due=_plain(due))
    db.session.flush()
    return synergy


EDITABLE = ("title", "kind", "sub_type", "is_continuous", "quantity", "unit", "followed_by_id", "notes")


def update(actor: User, synergy: Synergy, data: dict) -> list[str]:
    """Edit what describes the synergy (EDITABLE); the history keeps each changed field's new value.
    Returns the names of the fields that changed."""
    if not synergy.can_manage(actor):
        raise SynergyError("not_allowed")
    _lock(synergy)
    kind = data.get("kind", synergy.kind)
    if kind not in rules.KINDS or not rules.sub_type_allowed(kind, data.get("sub_type", synergy.sub_type)):
        raise SynergyError("bad_sub_type")
    follower_id = data.get("followed_by_id", synergy.followed_by_id)
    if follower_id is not None and follower_id != synergy.followed_by_id:
        follower = db.session.get(User, follower_id)
        if follower is None or synergy.territory_id not in follower.territory_ids:
            raise SynergyError("follower_not_practitioner")
    changed = {}
    for name in EDITABLE:
        if name not in data:
            continue
        value = data[name]
        if isinstance(value, str):
            value = value.strip() if name in ("title", "notes") else (value or None)
        if name == "is_continuous":
            value = bool(value)
        if getattr(synergy, name) != value:
            setattr(synergy, name, value)
            changed[name] = _plain(value)
    if changed:
        _event(synergy, actor, "edited", **changed)
    db.session.flush()
    return list(changed)


# --- benefits ----------------------------------------------------------------------------------


def record_benefits(actor: User, synergy: Synergy, status: str, figures: dict, factor: EmissionFactor | None = None,
                    basis: str | None = None, note: str = "") -> SynergyBenefit:
    """Declare (a company involved or the practitioner) or verify (the practitioner) a synergy's benefits.
    With a factor, CO2e is computed from one figure (`basis`, or the first filled figure of the
    factor's unit) and the factor is stored with it; without, a CO2e typed in is kept as entered."""
    if status not in ("declared", "verified"):
        raise ValueError(status)
    allowed = synergy.can_declare(actor) if status == "declared" else synergy.can_verify(actor)
    if not allowed:
        raise SynergyError("not_allowed")
    values = {name: figures.get(name) for name in BENEFIT_FIGURES}
    for value in values.values():
        if value is not None and (not Decimal(value).is_finite() or value < 0 or value > rules.MAX_FIGURE):
            raise SynergyError("figure_out_of_range")
    factor_fields = dict.fromkeys(("co2e_basis", "emission_factor_key", "emission_factor_label",
                                   "emission_factor_value", "emission_factor_unit", "emission_factor_source"))
    if factor is not None:
        if not factor.is_active:
            raise SynergyError("factor_unknown")
        basis = basis or rules.default_basis(factor.unit, values)
        if basis is None:
            raise SynergyError("basis_missing")
        if not rules.basis_fits(factor.unit, basis):
            raise SynergyError("basis_mismatch")
        if values.get(basis) is None:
            raise SynergyError("basis_missing")
        values["co2e_tonnes"] = rules.co2e_tonnes(values[basis], factor.kg_co2e_per_unit)
        method = "computed"
        factor_fields.update(co2e_basis=basis, emission_factor_key=factor.key, emission_factor_label=factor.label,
                             emission_factor_value=factor.kg_co2e_per_unit, emission_factor_unit=factor.unit,
                             emission_factor_source=factor.source)
    else:
        method = "entered" if values.get("co2e_tonnes") is not None else None
    _lock(synergy)
    benefit = synergy.benefit(status)
    if benefit is None:
        benefit = SynergyBenefit(synergy_id=synergy.id, status=status)
        db.session.add(benefit)
    for name, value in {**values, **factor_fields}.items():
        setattr(benefit, name, value)
    benefit.co2e_method = method
    benefit.is_annual = synergy.is_continuous
    benefit.note = (note or "").strip()
    benefit.recorded_by_id = actor.id
    benefit.recorded_at = utcnow()
    db.session.flush()
    db.session.refresh(synergy, ["benefits"])
    _event(synergy, actor, f"benefits_{status}",
           **{k: _plain(v) for k, v in values.items() if v is not None},
           **({"emission_factor": factor.key, "kg_co2e_per_unit": _plain(factor.kg_co2e_per_unit),
               "basis": basis} if factor is not None else {}))
    db.session.flush()
    return benefit


def declare_benefits(actor: User, synergy: Synergy, figures: dict, **kwargs) -> SynergyBenefit:
    return record_benefits(actor, synergy, "declared", figures, **kwargs)


def verify_benefits(actor: User, synergy: Synergy, figures: dict, **kwargs) -> SynergyBenefit:
    return record_benefits(actor, synergy, "verified", figures, **kwargs)


def benefit_totals(synergy_ids, status: str = "verified") -> dict[str, Decimal]:
    """Sum of each benefit figure over these synergies (one status): what dashboards show."""
    ids = list(synergy_ids)
    if not ids:
        return {name: Decimal(0) for name in BENEFIT_FIGURES}
    columns = [sa.func.coalesce(sa.func.sum(getattr(SynergyBenefit, name)), 0).label(name)
               for name in BENEFIT_FIGURES]
    row = db.session.execute(sa.select(*columns).where(SynergyBenefit.status == status,
                                                       SynergyBenefit.synergy_id.in_(ids))).one()
    return {name: Decimal(getattr(row, name)) for name in BENEFIT_FIGURES}


# --- reminders ---------------------------------------------------------------------------------


def reminder_recipients(synergy: Synergy) -> list[User]:
    """The practitioner following the synergy while they still run its territory, else every
    practitioner of the territory."""
    follower = synergy.followed_by
    if follower is not None and follower.is_active and synergy.territory_id in follower.territory_ids:
        return [follower]
    return list(synergy.territory.practitioners) if synergy.territory is not None else []


def remind_due_actions(today: date | None = None) -> int:
    """Tell practitioners of next actions due today or overdue, once per synergy and due date (the
    notification's dedup key carries the date: a new due date is reminded again). Returns how many
    notifications were written."""
    today = today or local_today()
    due = db.session.scalars(
        sa.select(Synergy).where(Synergy.next_action_due.is_not(None), Synergy.next_action_due <= today,
                                 Synergy.stage.not_in(rules.FINAL_STAGES))
        .order_by(Synergy.next_action_due, Synergy.id)).all()
    told = 0
    for synergy in due:
        key = f"synergy-due:{synergy.id}:{synergy.next_action_due.isoformat()}"
        title = (_l("Action en retard : %(title)s", title=synergy.title) if synergy.next_action_due < today
                 else _l("Action à mener aujourd'hui : %(title)s", title=synergy.title))
        body = _l("%(action)s (échéance du %(due)s)", action=synergy.next_action or _l("Prochaine action"),
                  due=format_date(synergy.next_action_due))
        for user in reminder_recipients(synergy):
            if notify(user, "synergy", title, body, external_url("synergies.show", synergy_id=synergy.id), key):
                told += 1
    db.session.flush()
    return told


# --- emission factors --------------------------------------------------------------------------


def default_factors() -> list[dict]:
    """The shipped defaults (data/emission_factors_fr.csv), each with its source."""
    with open(FACTORS_FILE, newline="", encoding="utf-8") as f:
        return [{**row, "kg_co2e_per_unit": Decimal(row["kg_co2e_per_unit"])} for row in csv.DictReader(f)]


def load_default_factors() -> int:
    """Add the shipped factors whose key is missing; never overwrites an administrator's edit."""
    known = set(db.session.scalars(sa.select(EmissionFactor.key)))
    added = 0
    for row in default_factors():
        if row["key"] not in known:
            db.session.add(EmissionFactor(key=row["key"], label=row["label"], unit=row["unit"],
                                          kg_co2e_per_unit=row["kg_co2e_per_unit"], source=row["source"]))
            added += 1
    db.session.flush()
    return added


def active_factors() -> list[EmissionFactor]:
    return db.session.scalars(sa.select(EmissionFactor).where(EmissionFactor.is_active)
                              .order_by(EmissionFactor.unit.desc(), EmissionFactor.label)).all()


def factor_by_key(key: str | None) -> EmissionFactor | None:
    if not key:
        return None
    return db.session.scalar(sa.select(EmissionFactor).where(EmissionFactor.key == key))


def save_factor(actor: User, data: dict) -> tuple[EmissionFactor, bool]:
    """Create or update a factor by key (administrators only). Benefits already computed keep the copy
    of the factor they used. Returns (factor, created)."""
    if not (actor and actor.is_authenticated and actor.is_admin):
        raise SynergyError("not_allowed")
    factor = factor_by_key(data["key"])
    created = factor is None
    if created:
        factor = EmissionFactor(key=data["key"])
        db.session.add(factor)
    factor.label = data["label"].strip()
    factor.kg_co2e_per_unit = data["kg_co2e_per_unit"]
    factor.unit = data["unit"]
    factor.source = data["source"].strip()
    factor.is_active = bool(data.get("is_active", True))
    factor.updated_by_id = actor.id
    db.session.flush()
    return factor, created
