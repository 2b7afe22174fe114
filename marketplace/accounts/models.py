"""People and what they may do: users, companies and their sites, territories and practitioners."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models_base import Timestamped, utcnow

ROLES = ("member", "practitioner", "admin")
# A company created by one of its members waits for the practitioners of its territories ("pending");
# they approve it, ask for changes (the members are told why, and editing the profile sends it back to
# review), or refuse it: a refused company cannot publish listings. Imports, the demo, administrators and
# companies that existed before review began count as approved.
COMPANY_REVIEW_STATUSES = ("pending", "approved", "changes_requested", "rejected")


class User(UserMixin, Timestamped, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    locale: Mapped[str] = mapped_column(sa.String(5), default="fr", nullable=False)
    is_admin: Mapped[bool] = mapped_column(default=False, nullable=False)
    is_active_account: Mapped[bool] = mapped_column(default=True, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # Bumped on password change: signed links issued before it stop working.
    security_stamp: Mapped[int] = mapped_column(default=0, nullable=False)
    company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("company.id", ondelete="SET NULL"), index=True)

    company: Mapped[Company | None] = relationship(back_populates="members", foreign_keys=[company_id])
    assignments: Mapped[list[PractitionerAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    def get_id(self) -> str:
        """What the session and the remember-me cookie hold: the id and the security stamp, so that a new
        password ends every other session of the account (the stamp moves on with it)."""
        return f"{self.id}.{self.security_stamp}"

    @classmethod
    def for_session(cls, session_id: str) -> User | None:
        """The active user whose `get_id()` this is, or None (stale session, disabled account)."""
        user_id, _, stamp = session_id.partition(".")
        if not (user_id.isdigit() and stamp.isdigit()):
            return None
        user = db.session.get(cls, int(user_id))
        if user is None or not user.is_active or user.security_stamp != int(stamp):
            return None
        return user

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def territory_ids(self) -> set[int]:
        return {a.territory_id for a in self.assignments}

    @property
    def is_practitioner(self) -> bool:
        return bool(self.assignments)

    @property
    def role(self) -> str:
        if self.is_admin:
            return "admin"
        if self.is_practitioner:
            return "practitioner"
        return "member"

    def moderates_company(self, company: Company) -> bool:
        """Administrators moderate everything; practitioners, the companies with a site in their territories."""
        if self.is_admin:
            return True
        return bool(self.territory_ids & company.territory_ids)

    def moderates_site(self, site: Site) -> bool:
        if self.is_admin:
            return True
        return bool(self.territory_ids & {t.id for t in site.territories})

    def __repr__(self) -> str:
        return f"<User {self.email}>"


site_territory = sa.Table(
    "site_territory",
    db.metadata,
    sa.Column("site_id", sa.ForeignKey("site.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("territory_id", sa.ForeignKey("territory.id", ondelete="CASCADE"), primary_key=True),
)


class Company(Timestamped, db.Model):
    __tablename__ = "company"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(160), nullable=False, index=True)
    siret: Mapped[str | None] = mapped_column(sa.String(14), unique=True)
    naf_code: Mapped[str | None] = mapped_column(sa.String(6))
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    contact_name: Mapped[str | None] = mapped_column(sa.String(120))
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(40))
    website: Mapped[str | None] = mapped_column(sa.String(255))
    is_solution_provider: Mapped[bool] = mapped_column(default=False, nullable=False)
    # Space-separated slugs / codes: small, read whole, never joined on.
    handled_categories: Mapped[str] = mapped_column(sa.String(255), default="", nullable=False)
    handled_waste_codes: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    treatment_operations: Mapped[str] = mapped_column(sa.String(255), default="", nullable=False)
    review_status: Mapped[str] = mapped_column(sa.String(20), default="approved", server_default="approved",
                                               nullable=False, index=True)
    review_note: Mapped[str | None] = mapped_column(sa.Text)  # the practitioner's reason, sent to the members
    reviewed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # use_alter: user.company_id already points the other way (a cycle for table creation order).
    reviewed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL", use_alter=True))

    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    members: Mapped[list[User]] = relationship(back_populates="company", foreign_keys=[User.company_id])
    sites: Mapped[list[Site]] = relationship(
        back_populates="company", cascade="all, delete-orphan", order_by="Site.id"
    )
    trusts: Mapped[list[TrustedCompany]] = relationship(back_populates="company", cascade="all, delete-orphan")

    @property
    def territory_ids(self) -> set[int]:
        return {t.id for site in self.sites for t in site.territories}

    @property
    def territories(self) -> list[Territory]:
        seen: dict[int, Territory] = {}
        for site in self.sites:
            for t in site.territories:
                seen.setdefault(t.id, t)
        return sorted(seen.values(), key=lambda t: t.name)

    @property
    def trusted_territory_ids(self) -> set[int]:
        return {t.territory_id for t in self.trusts}

    def is_trusted_for(self, site: Site) -> bool:
        return bool(self.trusted_territory_ids & {t.id for t in site.territories})

    @property
    def handled_category_list(self) -> list[str]:
        return self.handled_categories.split()

    @property
    def handled_waste_code_list(self) -> list[str]:
        return [c.strip() for c in self.handled_waste_codes.split(",") if c.strip()]

    @property
    def treatment_operation_list(self) -> list[str]:
        return self.treatment_operations.split()

    @property
    def is_rejected(self) -> bool:
        """Refused by a practitioner: its listings cannot be published."""
        return self.review_status == "rejected"

    @property
    def is_under_review(self) -> bool:
        return self.review_status in ("pending", "changes_requested")

    def can_review(self, user) -> bool:
        return bool(user and user.is_authenticated and user.moderates_company(self))

    def can_view(self, user) -> bool:
        """A refused company's page is for its members and its moderators only."""
        return not self.is_rejected or self.has_member(user) or self.can_review(user)

    def has_member(self, user) -> bool:
        return bool(user and user.is_authenticated and user.company_id == self.id)

    def can_edit(self, user) -> bool:
        return self.has_member(user) or bool(user and user.is_authenticated and user.is_admin)

    def can_view_contacts(self, user) -> bool:
        """Contact details are for logged-in, confirmed users only (they are commercial data)."""
        return bool(user and user.is_authenticated and user.is_confirmed)

    def __repr__(self) -> str:
        return f"<Company {self.name}>"


class Site(Timestamped, db.Model):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("company.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    address: Mapped[str] = mapped_column(sa.String(255), default="", nullable=False)
    postcode: Mapped[str] = mapped_column(sa.String(5), nullable=False, index=True)
    city: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)

    company: Mapped[Company] = relationship(back_populates="sites")
    territories: Mapped[list[Territory]] = relationship(secondary=site_territory, back_populates="sites")

    @property
    def label(self) -> str:
        return f"{self.name} — {self.postcode} {self.city}"


TERRITORY_KINDS = ("postcodes", "departements", "radius")


class Territory(Timestamped, db.Model):
    __tablename__ = "territory"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    # Space-separated lists; `rules.territory_contains` reads them.
    postcodes: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    departements: Mapped[str] = mapped_column(sa.String(255), default="", nullable=False)
    center_postcode: Mapped[str | None] = mapped_column(sa.String(5))
    center_latitude: Mapped[float | None] = mapped_column(sa.Float)
    center_longitude: Mapped[float | None] = mapped_column(sa.Float)
    radius_km: Mapped[float | None] = mapped_column(sa.Float)
    dormant_after_days: Mapped[int] = mapped_column(default=60, nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)

    sites: Mapped[list[Site]] = relationship(secondary=site_territory, back_populates="territories")
    assignments: Mapped[list[PractitionerAssignment]] = relationship(
        back_populates="territory", cascade="all, delete-orphan"
    )
    trusts: Mapped[list[TrustedCompany]] = relationship(back_populates="territory", cascade="all, delete-orphan")

    @property
    def practitioners(self) -> list[User]:
        return [a.user for a in self.assignments]


class PractitionerAssignment(db.Model):
    __tablename__ = "practitioner_assignment"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    territory_id: Mapped[int] = mapped_column(sa.ForeignKey("territory.id", ondelete="CASCADE"), primary_key=True)
    assigned_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)

    user: Mapped[User] = relationship(back_populates="assignments")
    territory: Mapped[Territory] = relationship(back_populates="assignments")


class TrustedCompany(db.Model):
    """A company whose listings in this territory are published without prior approval."""

    __tablename__ = "trusted_company"

    company_id: Mapped[int] = mapped_column(sa.ForeignKey("company.id", ondelete="CASCADE"), primary_key=True)
    territory_id: Mapped[int] = mapped_column(sa.ForeignKey("territory.id", ondelete="CASCADE"), primary_key=True)
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)

    company: Mapped[Company] = relationship(back_populates="trusts")
    territory: Mapped[Territory] = relationship(back_populates="trusts")


class Invitation(db.Model):
    """A member invites a colleague by e-mail; the signed link carries the invitation id."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("company.id", ondelete="CASCADE"), nullable=False, index=True)
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

    company: Mapped[Company] = relationship()
    invited_by: Mapped[User | None] = relationship()


class LoginFailure(db.Model):
    """One wrong password for an e-mail address (see accounts/lockout.py). The address is kept as a keyed
    digest, the same whether an account exists or not: the table never lists who is registered."""

    __tablename__ = "login_failure"
    __table_args__ = (sa.Index("ix_login_failure_address_at", "address_digest", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address_digest: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False, index=True)
