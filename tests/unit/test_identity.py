"""Identity values are canonical, so one address is one identity."""

import pytest

from helpdesk.errors import ValidationFailed
from helpdesk.models import IdentityKind
from helpdesk.services.customers import normalize_identity

K = IdentityKind


@pytest.mark.parametrize(("kind", "raw", "canonical"), [
    (K.EMAIL, "Ada@Example.COM", "ada@example.com"),
    (K.EMAIL, "  ada.lovelace+help@mail.example.org \n", "ada.lovelace+help@mail.example.org"),
    (K.PHONE, "+33 6 12 34 56 78", "+33612345678"),
    (K.PHONE, "(555) 010-0199", "5550100199"),
    (K.PHONE, "+1.555.010.0199", "+15550100199"),
    (K.VISITOR, "  Visitor-AbC123 ", "Visitor-AbC123"),
    (K.EXTERNAL, "crm:00042", "crm:00042"),
])
def test_values_are_normalized(kind, raw, canonical):
    assert normalize_identity(kind, raw) == canonical


@pytest.mark.parametrize(("kind", "raw"), [
    (K.EMAIL, "not-an-email"),
    (K.EMAIL, "ada@localhost"),
    (K.EMAIL, "ada@@example.com"),
    (K.EMAIL, "ada lovelace@example.com"),
    (K.EMAIL, ""),
    (K.PHONE, "12"),
    (K.PHONE, "call me maybe"),
    (K.PHONE, "+33 6 12 34 56 78 ext 9"),
    (K.PHONE, "++33612345678"),
    (K.PHONE, ""),
    (K.VISITOR, "   "),
    (K.EXTERNAL, ""),
])
def test_invalid_values_are_rejected_naming_the_field(kind, raw):
    with pytest.raises(ValidationFailed) as rejected:
        normalize_identity(kind, raw)
    assert rejected.value.field == "value"
