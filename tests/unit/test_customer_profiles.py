"""Customer profiles without a database: which columns a merge moves, attribute values
named by their subject, email domains."""

import pytest

import helpdesk.models  # noqa: F401  (every table on the metadata)
import knowledge_base.feedback  # noqa: F401  (its votes reference customers)
from helpdesk.errors import ValidationFailed
from helpdesk.models import CustomFieldDefinition, FieldSubject, FieldType
from helpdesk.orm import Base
from helpdesk.services.custom_fields import checked_value
from helpdesk.services.customer_merges import actor_references, customer_references
from helpdesk.services.organisations import normalize_domain


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
