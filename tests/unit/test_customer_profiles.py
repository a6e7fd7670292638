"""Customer profiles without a database: which columns a merge moves, attribute values
named by their subject, email domains, the timeline's cursor, the profile values a merge
fills in and takes back."""

import base64
from datetime import UTC, datetime

import pytest

import helpdesk.models  # noqa: F401  (every table on the metadata)
import knowledge_base.feedback  # noqa: F401  (its votes reference customers)
from helpdesk.errors import ValidationFailed
from helpdesk.models import (
    Customer,
    CustomFieldDefinition,
    FieldSubject,
    FieldType,
    TimelineEvent,
)
from helpdesk.orm import Base
from helpdesk.services.custom_fields import checked_value
from helpdesk.services.customer_merges import (
    _fill_profile,
    _take_back_profile,
    actor_references,
    customer_references,
)
from helpdesk.services.organisations import normalize_domain
from helpdesk.services.timeline import decode_cursor, encode_cursor


def test_every_reference_to_customers_is_moved_or_kept_on_purpose():
    """A table added later with a foreign key to customers is moved by merges, unless its
    column is marked KEPT_ON_MERGE; each has one primary key to record rows by."""
    referencing = {f"{fk.parent.table.name}.{fk.parent.name}"
                   for table in Base.metadata.sorted_tables for fk in table.foreign_keys
                   if fk.column.table.name == "customers"}
    moved = {f"{c.table.name}.{c.name}" for c in customer_references()}
    assert referencing - moved == {"customer_merges.source_id", "customer_merges.target_id"}
    assert {"identities.customer_id", "conversations.customer_id", "calls.customer_id",
            "timeline_events.customer_id", "article_feedback.customer_id",
            "customers.merged_into_id"} <= moved
    for column in [*customer_references(), *(c for c, _where in actor_references())]:
        assert len(column.table.primary_key.columns) == 1, column.table.name


def test_an_attribute_value_is_named_by_where_it_is_stored():
    tier = CustomFieldDefinition(subject=FieldSubject.CUSTOMER, key="tier", label="Tier",
                                 type=FieldType.SELECT, options=["silver", "gold"])
    assert checked_value(tier, "gold") == "gold"
    with pytest.raises(ValidationFailed) as refused:
        checked_value(tier, "platinum")
    assert (refused.value.field, refused.value.message) == (
        "attributes.tier", "Tier (tier): must be one of silver, gold")


@pytest.mark.parametrize(("typed", "domain"), [
    (" @Maison-Lumiere.Example ", "maison-lumiere.example"), ("a.b.co", "a.b.co")])
def test_a_domain_is_cleaned(typed, domain):
    assert normalize_domain(typed) == domain


@pytest.mark.parametrize("typed", ["localhost", "-shop.example", "shop..example",
                                   "shop_1.example", "ada@shop.example", "shop.example."])
def test_a_domain_that_is_not_one_is_refused_naming_the_field(typed):
    with pytest.raises(ValidationFailed) as refused:
        normalize_domain(typed)
    assert refused.value.field == "domains"


# --- the timeline's cursor ------------------------------------------------------------------

def test_a_cursor_carries_the_time_and_id_of_the_last_event():
    event = TimelineEvent(id=42, occurred_at=datetime(2026, 3, 1, 9, 30, 15, 250, tzinfo=UTC))
    assert decode_cursor(encode_cursor(event)) == (event.occurred_at, 42)


@pytest.mark.parametrize("cursor", [
    "bogus", "", base64.urlsafe_b64encode(b'["2026-03-01T09:30:00", 42]').decode(),
    base64.urlsafe_b64encode(b'["2026-03-01T09:30:00+00:00", true]').decode(),
    base64.urlsafe_b64encode(b'["2026-03-01T09:30:00+00:00", "42"]').decode(),
    base64.urlsafe_b64encode(b'{"at": 1}').decode()])
def test_a_cursor_the_server_did_not_issue_is_refused_naming_it(cursor):
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor(cursor)
    assert refused.value.field == "cursor"


# --- what a merge fills in on the target's profile, and takes back --------------------------

def profile(**fields) -> Customer:
    return Customer(**{"name": "", "attributes": {}, "consents": {}, **fields})


def test_a_merge_fills_the_target_s_blanks_and_adds_what_it_lacks():
    source = profile(name="Ada", language="fr", timezone="Europe/Paris",
                     attributes={"tier": "gold", "segment": "b2c"},
                     consents={"marketing_email": True, "marketing_sms": True})
    target = profile(language="en", attributes={"tier": "silver"},
                     consents={"marketing_email": False})
    filled = _fill_profile(source, target)
    assert (target.name, target.language, target.timezone) == ("Ada", "en", "Europe/Paris")
    assert target.attributes == {"tier": "silver", "segment": "b2c"}
    assert target.consents == {"marketing_email": False, "marketing_sms": True}
    assert filled == {"fields": {"name": "", "timezone": None}, "attributes": ["segment"],
                      "consents": ["marketing_sms"]}


def test_undo_takes_back_only_what_the_merge_filled_in_and_nobody_changed_since():
    source = profile(name="Ada", timezone="Europe/Paris", attributes={"segment": "b2c",
                                                                       "vip": True})
    target = profile()
    filled = _fill_profile(source, target)
    target.timezone = "America/Montreal"  # an agent corrected it after the merge
    target.attributes = {**target.attributes, "vip": False, "tier": "gold"}
    _take_back_profile(filled, source, target)
    assert (target.name, target.timezone) == ("", "America/Montreal")
    assert target.attributes == {"vip": False, "tier": "gold"}
