"""The segments' condition language: what is accepted, the stored form, the errors naming the
bad part, and the SQL it compiles to on each database (no database here)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from helpdesk.errors import ValidationFailed
from helpdesk.services import segments

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def one(**condition):
    return {"all": [condition]}


def test_conditions_are_stored_checked_and_normalised():
    stored = segments.parse({"any": [
        one(field="language", op="in", value=[" FR ", "de"]),
        {"field": "contacts", "op": "gte", "value": 3, "days": 30},
        {"field": "email_domain", "op": "is", "value": "@Shop.Example"},
        {"field": "attribute", "key": "loyalty_tier", "op": "is", "value": "Gold"}]}).to_json()
    assert stored == {"any": [
        {"all": [{"field": "language", "op": "in", "value": ["fr", "de"]}]},
        {"field": "contacts", "op": "gte", "value": 3, "days": 30},
        {"field": "email_domain", "op": "is", "value": "shop.example"},
        {"field": "attribute", "op": "is", "value": "gold", "key": "loyalty_tier"}]}
    assert segments.parse(stored).to_json() == stored


@pytest.mark.parametrize(("data", "path", "message"), [
    ("x", "conditions", "a group is"),
    ({"all": [{"field": "lang", "op": "is", "value": "fr"}]}, "conditions.all[0].field",
     "'lang' is not one of language"),
    (one(field="language", op="gte", value="fr"), "conditions.all[0].op",
     "language takes exists, in, is, is_not, starts_with, not gte"),
    (one(field="language", op="is", value=""), "conditions.all[0].value", "non-empty text"),
    (one(field="language", op="in", value=[]), "conditions.all[0].value", "list of 1 to"),
    (one(field="contacts", op="gte", value=3), "conditions.all[0].days", "is required"),
    (one(field="contacts", op="gte", value=3, days=0), "conditions.all[0].days",
     "from 1 to 3650"),
    (one(field="contacts", op="gte", value="3", days=30), "conditions.all[0].value",
     "whole number from 0"),
    (one(field="last_csat", op="lte", value=6), "conditions.all[0].value", "from 1 to 5"),
    (one(field="language", op="is", value="fr", days=3), "conditions.all[0].days",
     "language takes no days"),
    (one(field="attribute", op="is", value="gold"), "conditions.all[0].key", "must be a key"),
    (one(field="consent", key="newsletter", op="is", value=True), "conditions.all[0].key",
     "'newsletter' is not one of marketing_email"),
    (one(field="consent", key="marketing_email", op="is", value="yes"),
     "conditions.all[0].value", "true or false"),
    (one(field="open_conversation", op="is", value=1), "conditions.all[0].value",
     "true or false"),
    (one(field="channel_used", op="is", value="fax"), "conditions.all[0].value",
     "'fax' is not one of chat"),
    (one(field="email_domain", op="is", value="not a domain"), "conditions.all[0].value",
     "not an email domain"),
    (one(field="language", op="exists", value="yes"), "conditions.all[0].value",
     "true or false"),
    ({"all": [{"any": [{"all": [{"any": []}]}]}]}, "conditions.all[0].any[0].all[0]",
     "nest at most 3"),
    ({"all": [{"field": "language", "op": "is"}]}, "conditions.all[0]", "a condition is"),
])
def test_errors_name_the_bad_part(data, path, message):
    with pytest.raises(ValidationFailed) as refused:
        segments.parse(data)
    assert refused.value.field == path
    assert message in refused.value.message and refused.value.message.startswith(path)


def test_too_many_conditions_are_refused():
    many = {"all": [{"field": "language", "op": "is", "value": "fr"}] * 51}
    with pytest.raises(ValidationFailed, match="at most 50 conditions"):
        segments.parse(many)


@pytest.mark.parametrize(("dialect", "expected"), [
    (sqlite.dialect(), "CASE json_type(customers.attributes, '$.\"' || ? || '\"') "
                       "WHEN 'true' THEN 'true'"),
    (postgresql.dialect(), "(customers.attributes ->> %(param_1)s::VARCHAR)")])
def test_attributes_read_as_text_the_same_way_on_each_database(dialect, expected):
    clause = segments.parse(one(field="attribute", key="vip", op="is", value="true"))
    sql = str(clause.clause(NOW).compile(dialect=dialect))
    assert expected in sql


def test_is_not_is_the_null_safe_opposite_of_is():
    clause = segments.parse(one(field="language", op="is_not", value="fr")).clause(NOW)
    sql = str(clause.compile(dialect=postgresql.dialect()))
    assert sql.startswith("NOT coalesce(lower(customers.language) = ")
