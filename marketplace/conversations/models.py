"""A conversation ties one listing to one answering company; messages are its lines."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Company, User
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.models_base import utcnow


class Conversation(db.Model):
    __tablename__ = "conversation"
    __table_args__ = (sa.UniqueConstraint("listing_id", "responder_company_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listing.id", ondelete="CASCADE"), nullable=False, index=True)
    responder_company_id: Mapped[int] = mapped_column(
        sa.ForeignKey("company.id", ondelete="CASCADE"), nullable=False, index=True
    )
    requested_quantity: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 3))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    last_message_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)

    listing: Mapped[Listing] = relationship()
    responder_company: Mapped[Company] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", order_by="Message.created_at"
    )

    @property
    def owner_company(self) -> Company:
        return self.listing.company

    def company_ids(self) -> set[int]:
        return {self.listing.company_id, self.responder_company_id}

    def can_view(self, user) -> bool:
        """Only the two companies' members: not practitioners, not administrators (commercial talks)."""
        return bool(user and user.is_authenticated and user.company_id in self.company_ids())

    def other_company(self, user) -> Company:
        return self.responder_company if user.company_id == self.listing.company_id else self.listing.company


class Message(db.Model):
    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False, index=True
    )
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow, nullable=False)
    # Per side: when a member of that company last opened the conversation.
    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()
