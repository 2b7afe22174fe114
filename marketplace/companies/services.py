"""Company, site and invitation changes. Callers commit."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace import reference
from marketplace.accounts.models import Company, Invitation, Site, User
from marketplace.accounts.tokens import make_token, read_token
from marketplace.extensions import db
from marketplace.models_base import utcnow
from marketplace.notifications.services import external_url, notify, queue_email
from marketplace.search.indexing import (
    schedule_company_listings,
    schedule_site_listings,
)
from marketplace.territories.services import place_site

COMPANY_FIELDS = (
    "name", "siret", "naf_code", "description", "contact_name", "contact_email", "contact_phone", "website",
    "is_solution_provider", "handled_waste_codes",
)


class SiteInUse(Exception):
    """A site that listings still point to cannot be removed."""


class ReviewError(Exception):
    """The company's review status does not allow this decision (already decided by someone else)."""


def _apply_company_fields(company: Company, data: dict) -> None:
    for field in COMPANY_FIELDS:
        if field in data:
            value = data[field]
            value = value.strip() if isinstance(value, str) else value
            if field == "siret":
                value = value or None  # no SIRET is NULL: the column is unique, two "" would collide (a 500)
            setattr(company, field, value)
    if "handled_categories" in data:
        company.handled_categories = " ".join(data["handled_categories"] or [])
    if "treatment_operations" in data:
        company.treatment_operations = " ".join(data["treatment_operations"] or [])
    company.description = company.description or ""
    company.handled_waste_codes = company.handled_waste_codes or ""


def create_company(actor: User | None, data: dict, site: dict) -> Company:
    """A new company with its first site; the actor (if any) becomes its first member. Created by one of
    its members, it waits for the practitioners of its territories (who are told); created by an import,
    the demo or an administrator, it is approved."""
    company = Company(name=data["name"].strip())
    _apply_company_fields(company, data)
    company.review_status = "pending" if actor is not None and not actor.is_admin else "approved"
    db.session.add(company)
    add_site(company, **site)
    if actor is not None:
        actor.company = company
    db.session.flush()
    if company.review_status == "pending":
        _tell_reviewers(company)
    return company


def update_company(company: Company, data: dict) -> None:
    """Save the profile; when changes were requested, the edit sends the company back to review."""
    name = company.name
    _apply_company_fields(company, data)
    if company.name != name:  # the name is searchable with each of the company's listings
        schedule_company_listings(company.id)
    if company.review_status == "changes_requested":
        company.review_status = "pending"
        db.session.flush()
        _tell_reviewers(company)


# --- review by the practitioners of the company's territories --------------------------------------

REVIEW_DECISIONS = {
    # decision: (allowed from, to)
    "approve": (("pending", "changes_requested", "rejected"), "approved"),
    "request_changes": (("pending",), "changes_requested"),
    "reject": (("pending", "changes_requested"), "rejected"),
}
_REVIEW_SUBJECTS = {
    "approved": _l("Votre entreprise est validée"),
    "changes_requested": _l("Votre fiche entreprise doit être complétée"),
    "rejected": _l("Votre entreprise est refusée"),
}


def review(actor: User, company: Company, decision: str, reason: str | None = None) -> list:
    """Approve, request changes (with the reason) or refuse (with the reason) a company; its members are
    told why. A refused company's pending and public listings are withdrawn (returned). Callers check
    that the actor moderates the company."""
    from marketplace.listings import services as listings
    from marketplace.listings.models import Listing

    allowed, target = REVIEW_DECISIONS[decision]
    if company.review_status not in allowed:
        raise ReviewError(company.review_status)
    reason = (reason or "").strip() or None
    if target != "approved" and not reason:
        raise ValueError("a reason is required")
    company.review_status = target
    company.review_note = reason
    company.reviewed_at = utcnow()
    company.reviewed_by_id = actor.id
    withdrawn = []
    if target == "rejected":
        withdrawn = db.session.scalars(sa.select(Listing).where(
            Listing.company_id == company.id, Listing.status.in_(("pending", "published", "reserved")))
            .order_by(Listing.id)).all()
        for listing in withdrawn:
            listings.withdraw_refused_company_listing(actor, listing, reason)
    _tell_members(company, actor, withdrawn)
    return withdrawn


def _tell_members(company: Company, actor: User, withdrawn: list) -> None:
    decision = f"company-review:{company.id}:{company.review_status}:{company.reviewed_at:%Y%m%dT%H%M%S%f}"
    link = external_url("companies.show", company_id=company.id)
    body = (_l("Motif : %(reason)s", reason=company.review_note) if company.review_note
            else _l("%(name)s peut publier ses annonces.", name=company.name))
    for user in sorted((u for u in company.members if u.is_active), key=lambda u: u.id):
        notify(user, "moderation", _REVIEW_SUBJECTS[company.review_status], body, link, decision,
               email_template="company_review", email_kind=f"company.{company.review_status}",
               company=company, moderator=actor, withdrawn=withdrawn)


def _tell_reviewers(company: Company) -> None:
    """The practitioners of the company's territories hear that it waits for them (once per request)."""
    practitioners = {a.user for t in company.territories for a in t.assignments if a.user.is_active}
    request = f"company-pending:{company.id}:{utcnow():%Y%m%dT%H%M%S%f}"
    city = company.sites[0].city if company.sites else ""
    for user in sorted(practitioners, key=lambda u: u.id):
        notify(user, "pending", _l("Entreprise à examiner : %(name)s", name=company.name),
               _l("Nouvelle entreprise à %(city)s : vérifiez sa fiche.", city=city)
               if company.reviewed_at is None else _l("%(name)s a complété sa fiche.", name=company.name),
               external_url("practitioner.moderation"), request)


def _locate(site: Site, postcode: str, city: str | None) -> None:
    place = reference.locate(postcode, city)
    site.postcode = postcode.strip()
    site.city = (city or (place.commune.title() if place else "")).strip()
    site.latitude = place.latitude if place else None
    site.longitude = place.longitude if place else None


def add_site(company: Company, name: str, postcode: str, city: str | None = None, address: str = "") -> Site:
    site = Site(company=company, name=name.strip(), address=(address or "").strip())
    _locate(site, postcode, city)
    db.session.add(site)
    db.session.flush()
    place_site(site)
    return site


def update_site(site: Site, name: str, postcode: str, city: str | None = None, address: str = "") -> None:
    site.name = name.strip()
    site.address = (address or "").strip()
    _locate(site, postcode, city)
    place_site(site)
    schedule_site_listings([site.id])  # place and territories are indexed with its listings


def remove_site(site: Site) -> None:
    from marketplace.listings.models import Listing

    used = db.session.scalar(sa.select(sa.func.count()).where(Listing.site_id == site.id))
    if used or len(site.company.sites) <= 1:
        raise SiteInUse()
    db.session.delete(site)


def invite(company: Company, email: str, actor: User) -> Invitation:
    invitation = Invitation(company=company, email=email.strip().lower(), invited_by_id=actor.id)
    db.session.add(invitation)
    db.session.flush()
    token = make_token("invite", {"iid": invitation.id, "email": invitation.email})
    queue_email(
        invitation.email, "company.invite",
        _l("%(name)s vous invite sur %(site)s", name=actor.full_name, site=current_app.config["SITE_NAME"]),
        "invitation", locale=actor.locale, invitation=invitation, actor=actor, company=company,
        link=external_url("companies.accept_invitation", token=token),
    )
    return invitation


def invitation_for(token: str) -> Invitation | None:
    payload = read_token("invite", token, current_app.config["EMAIL_TOKEN_MAX_AGE"])
    if not payload:
        return None
    invitation = db.session.get(Invitation, payload.get("iid"))
    if invitation is None or invitation.email != payload.get("email") or invitation.accepted_at:
        return None
    return invitation


def accept_invitation(invitation: Invitation, user: User) -> None:
    invitation.accepted_at = utcnow()
    user.company = invitation.company
    if user.email == invitation.email and user.confirmed_at is None:
        user.confirmed_at = utcnow()  # the invitation link proved the address
