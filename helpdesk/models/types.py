"""Column helpers shared by the models."""

from enum import StrEnum

from sqlalchemy import Enum


def enum_type(enum: type[StrEnum]) -> Enum:
    """Store a StrEnum by value, as a plain string column checked by the app."""
    return Enum(enum, native_enum=False, create_constraint=False, length=32,
                values_callable=lambda members: [m.value for m in members])
