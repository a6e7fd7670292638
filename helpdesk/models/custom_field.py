"""Custom fields: the definitions admins write. Values live on what they describe, by key:
a conversation's ``custom_fields``, a customer's or an organisation's ``attributes``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.models.types import enum_type
from helpdesk.orm import Base, utcnow


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"  # stored as "YYYY-MM-DD"
    SELECT = "select"  # one of ``options``
    CHECKBOX = "checkbox"


class FieldSubject(StrEnum):
    """What a field describes (where its values are stored)."""

    CONVERSATION = "conversation"
    CUSTOMER = "customer"
    ORGANISATION = "organisation"


class CustomFieldDefinition(Base):
    __tablename__ = "custom_field_definitions"
    __table_args__ = (UniqueConstraint("subject", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[FieldSubject] = mapped_column(enum_type(FieldSubject),
                                                  default=FieldSubject.CONVERSATION)
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[FieldType] = mapped_column(enum_type(FieldType))
    options: Mapped[list[str]] = mapped_column(default=list)
    required_on_solve: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
