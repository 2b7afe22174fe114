"""Listing life cycle. Each function takes the acting user, changes state, records an event;
callers commit once. Rules on who may act are checked by the views with the model's can_* methods."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace import reference
from marketplace.accounts.models import Company, Site, User
from marketplace.extensions import db
from marketplace.jobs import enqueue_after_commit
from marketplace.listings import changes as listing_changes
from marketplace.listings import photos as photo_store
from marketplace.listings.models import Listing, ListingEvent, ListingPhoto
from marketplace.models_base import utcnow
from marketplace.notifications.services import external_url, notify
from marketplace.search.indexing import schedule_listing

EDITABLE_FIELDS = (
    "kind", "title", "description", "category", "waste_code", "quantity", "unit", "frequency", "price_mode",
    "unit_price_eur", "available_from", "available_until", "expires_on",
)


class TransitionError(Exception):
    """The listing is not in a state that allows this action."""


class CompanyRefused(Exception):
    """The listing's company was refused by a practitioner: its listings cannot be published."""


def _event(listing: Listing, actor: User | None, action: str, before: str | None, note: str | None = None,
           detail: dict | None = None):
    db.session.add(ListingEvent(listing_id=listing.id, actor_id=actor.id if actor else None, action=action,
                                from_status=before, to_status=listing.status, note=note, detail=detail))
    schedule_listing(listing)


def apply_fields(listing: Listing, data: dict) -> None:
    for field in EDITABLE_FIELDS:
        if field in data:
            setattr(listing, field, data[field])
    listing.title = listing.title.strip()
    listing.description = (listing.description or "").strip()
    entry = reference.waste_code_entry(listing.waste_code) if listing.waste_code else None
    listing.waste_code = entry.code if entry else None
    listing.is_hazardous = bool(entry and entry.is_hazardous)
    if listing.price_mode != "priced":
        listing.unit_price_eur = None


def create(actor: User, company: Company, site: Site, data: dict) -> Listing:
    listing = Listing(company=company, site=site, author_id=actor.id if actor else None, status="draft")
    apply_fields(listing, data)
    db.session.add(listing)
    db.session.flush()
    _event(listing, actor, "created", None)
    return listing


def update(actor: User, listing: Listing, site: Site, data: dict, rematch: bool = True) -> None:
    """The owner's (or an import's) edit; the history keeps each changed field's before and after."""
    before = listing_changes.snapshot(listing)
    apply_fields(listing, data)
    listing.site = site
    listing.last_activity_at = utcnow()
    changes = listing_changes.diff(before, listing_changes.snapshot(listing))
    _event(listing, actor, "edited", listing.status, detail={"changes": changes} if changes else None)
    if rematch and listing.status == "published":
        schedule_matching(listing)


def add_photos(listing: Listing, blobs: list[bytes]) -> None:
    """Store already-validated images; the caller has checked the count."""
    start = len(listing.photos)
    for i, blob in enumerate(blobs):
        stored = photo_store.store(blob)
        listing.photos.append(ListingPhoto(filename=stored.filename, width=stored.width, height=stored.height,
                                           position=start + i))


def remove_photo(listing: Listing, photo: ListingPhoto) -> None:
    listing.photos.remove(photo)
    db.session.delete(photo)
    photo_store.delete_after_commit(photo.filename)


def needs_approval(listing: Listing) -> bool:
    return not listing.company.is_trusted_for(listing.site)


def submit(actor: User, listing: Listing) -> str:
    """Draft → pending, or straight to published when the company is trusted in the site's territory."""
    if listing.status not in ("draft", "expired", "withdrawn"):
        raise TransitionError(listing.status)
    if listing.company.is_rejected:
        raise CompanyRefused()
    before = listing.status
    listing.submitted_at = utcnow()
    listing.rejection_reason = None
    if needs_approval(listing):
        listing.status = "pending"
        _event(listing, actor, "submitted", before)
        _tell_moderators(listing)
    else:
        _publish(listing)
        _event(listing, actor, "published", before, note="trusted company")
    return listing.status


def _publish(listing: Listing) -> None:
    listing.status = "published"
    listing.published_at = utcnow()
    listing.last_activity_at = utcnow()
    if listing.expires_on and listing.expires_on < date.today():
        listing.expires_on = None
    schedule_matching(listing)


def schedule_matching(listing: Listing, notify: bool = True) -> None:
    """Find takers (or givers) in a job once this transaction has committed."""
    from marketplace.matching.tasks import match_listing

    enqueue_after_commit(db.session(), match_listing, listing.id, notify)


def approve(actor: User, listing: Listing) -> None:
    if listing.status != "pending":
        raise TransitionError(listing.status)
    if listing.company.is_rejected:
        raise CompanyRefused()
    _publish(listing)
    listing.moderated_by_id = actor.id
    listing.moderated_at = utcnow()
    _event(listing, actor, "approved", "pending")
    _tell_owner(listing, actor, "listing.approved", _l("Votre annonce est publiée"), "listing_approved",
                _l("« %(title)s » est visible de toutes les entreprises.", title=listing.title))


def _decide_with_reason(actor: User, listing: Listing, reason: str, status: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a reason is required")
    listing.status = status
    listing.rejection_reason = reason
    listing.moderated_by_id = actor.id
    listing.moderated_at = utcnow()


def request_changes(actor: User, listing: Listing, reason: str) -> None:
    """Back to draft with the reason (renvoyée pour modification); the owner is told why, fixes and resubmits."""
    if listing.status != "pending":
        raise TransitionError(listing.status)
    _decide_with_reason(actor, listing, reason, "draft")
    _event(listing, actor, "changes_requested", "pending", note=listing.rejection_reason)
    _tell_owner(listing, actor, "listing.changes_requested", _l("Votre annonce doit être modifiée"),
                "listing_changes_requested", _l("Motif : %(reason)s", reason=listing.rejection_reason))


def refuse(actor: User, listing: Listing, reason: str) -> None:
    """Refused for good (withdrawn, never published): the owner is told why."""
    if listing.status != "pending":
        raise TransitionError(listing.status)
    _decide_with_reason(actor, listing, reason, "withdrawn")
    _event(listing, actor, "refused", "pending", note=listing.rejection_reason)
    _tell_owner(listing, actor, "listing.refused", _l("Votre annonce est refusée"), "listing_refused",
                _l("Motif : %(reason)s", reason=listing.rejection_reason))


def edit_pending(actor: User, listing: Listing, data: dict) -> dict:
    """A moderator corrects a pending listing before deciding; returns the changes, which the history
    keeps (before → after, field by field). Nothing changed, nothing recorded."""
    if listing.status != "pending":
        raise TransitionError(listing.status)
    before = listing_changes.snapshot(listing)
    apply_fields(listing, data)
    changes = listing_changes.diff(before, listing_changes.snapshot(listing))
    if changes:
        _event(listing, actor, "moderated", "pending", detail={"changes": changes})
    return changes


def withdraw_refused_company_listing(actor: User, listing: Listing, reason: str) -> None:
    """The company was refused: its pending or public listing leaves the marketplace (no mail of its own:
    the members hear about the company's refusal, which names it)."""
    if listing.status not in ("pending", "published", "reserved"):
        raise TransitionError(listing.status)
    before = listing.status
    listing.status = "withdrawn"
    listing.moderated_by_id = actor.id
    listing.moderated_at = utcnow()
    _event(listing, actor, "company_refused", before, note=reason.strip())


def _tell_owner(listing: Listing, moderator: User, kind: str, subject, template: str, body) -> None:
    """The author (else every member) hears the moderation decision, once per decision."""
    recipients = [u for u in listing.company.members if u.is_active]
    author = listing.author if listing.author and listing.author.company_id == listing.company_id else None
    decision = f"moderation:{listing.id}:{listing.status}:{listing.moderated_at:%Y%m%dT%H%M%S%f}"
    for user in [author] if author else recipients:
        notify(user, "moderation", subject, body, external_url("listings.show", listing_id=listing.id), decision,
               listing=listing, email_template=template, email_kind=kind, moderator=moderator)


def _tell_moderators(listing: Listing) -> None:
    """The practitioners of the site's territories hear that a listing waits for them (once per submission)."""
    practitioners = {a.user for t in listing.site.territories for a in t.assignments if a.user.is_active}
    submission = f"pending:{listing.id}:{listing.submitted_at:%Y%m%dT%H%M%S%f}"
    for user in sorted(practitioners, key=lambda u: u.id):
        notify(user, "pending", _l("Annonce à valider : %(title)s", title=listing.title),
               _l("%(company)s, %(city)s", company=listing.company.name, city=listing.site.city),
               external_url("listings.show", listing_id=listing.id), submission, listing=listing,
               email_template="listing_pending", email_kind="listing.pending")


OWNER_TRANSITIONS = {
    # action: (allowed from, to)
    "reserve": (("published",), "reserved"),
    "close": (("published", "reserved"), "closed"),
    "reopen": (("reserved",), "published"),
    "withdraw": (("draft", "pending", "published", "reserved"), "withdrawn"),
}


def change_status(actor: User, listing: Listing, action: str) -> None:
    allowed, target = OWNER_TRANSITIONS[action]
    if listing.status not in allowed:
        raise TransitionError(listing.status)
    before = listing.status
    listing.status = target
    listing.last_activity_at = utcnow()
    listing.rejection_reason = None  # a moderator's request, now moot: a withdrawn listing is not a refused one
    _event(listing, actor, action, before)
    if target == "published":
        schedule_matching(listing, notify=False)


def renew(actor: User | None, listing: Listing, note: str | None = None) -> None:
    """The owner confirms that a published listing is still available: that counts as fresh activity."""
    if listing.status != "published":
        raise TransitionError(listing.status)
    listing.last_activity_at = utcnow()
    _event(listing, actor, "renewed", listing.status, note=note)


def expire(actor: User | None, listing: Listing, note: str | None = None) -> None:
    """A published or reserved listing expires now (e.g. left without answer to two relaunches)."""
    if listing.status not in ("published", "reserved"):
        raise TransitionError(listing.status)
    before = listing.status
    listing.status = "expired"
    _event(listing, actor, "expired", before, note=note)


def expire_due(today: date | None = None) -> int:
    """Published or reserved listings past their expiry date become expired."""
    today = today or date.today()
    listings = db.session.scalars(
        sa.select(Listing).where(Listing.status.in_(("published", "reserved")), Listing.expires_on < today)
    ).all()
    for listing in listings:
        before = listing.status
        listing.status = "expired"
        _event(listing, None, "expired", before)
    return len(listings)


def record_view(listing: Listing, viewer: User | None) -> None:
    """Count views by others than the owner. A logged-in visitor who neither owns nor moderates it shows
    interest and keeps the listing from being dormant; anonymous views do not (crawlers and mail scanners
    following the links of a relaunch e-mail), nor a practitioner opening it from the dormant queue.
    A view is not an edit: `updated_at` stays, since matching (its per-process store and the stored
    analysis of the text), the API and the company page read it as the time of the listing's last change
    (moved by each view, it had every job worker re-read and re-analyse each viewed listing). The count
    is incremented by the database, so that simultaneous views all count."""
    if viewer is None or not viewer.is_authenticated or not listing.is_owned_by(viewer):
        values = {"view_count": Listing.view_count + 1, "updated_at": Listing.updated_at}
        if viewer is not None and viewer.is_authenticated and not viewer.moderates_site(listing.site):
            values["last_viewed_at"] = utcnow()
        db.session.execute(sa.update(Listing).where(Listing.id == listing.id).values(**values))
