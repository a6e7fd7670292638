"""The Customer aggregate: one person, many identities across channels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.models.organisation import Organisation
from helpdesk.models.types import enum_type
from helpdesk.orm import Base, utcnow

CONSENT_FLAGS = ("marketing_email", "marketing_sms", "call_recording", "data_processing")


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    VISITOR = "visitor"
    EXTERNAL = "external"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    consents: Mapped[dict[str, Any]] = mapped_column(default=dict)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # No ON DELETE: added in place on SQLite (helpdesk.migration_ops); deleting an
    # organisation detaches its members first (services/organisations.py).
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    # An address the customer typed in the chat that is another customer's (they are not
    # given its history): a hint that the two are one person (services/customer_merges.py).
    claimed_email: Mapped[str | None] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    identities: Mapped[list[Identity]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Identity.id")
    organisation: Mapped[Organisation | None] = relationship()

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        first = next(iter(self.identities), None)
        return first.value if first else f"Customer #{self.id}"

    def identity_values(self, kind: IdentityKind) -> list[str]:
        return [i.value for i in self.identities if i.kind == kind]


class Identity(Base):
    """How a channel knows the customer: an email address, a phone number, a visitor id…"""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[IdentityKind] = mapped_column(enum_type(IdentityKind))
    value: Mapped[str] = mapped_column(String(320))
    verified: Mapped[bool] = mapped_column(default=False)
    bouncing: Mapped[bool] = mapped_column(default=False)  # email: mail to it bounced for good
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="identities")
