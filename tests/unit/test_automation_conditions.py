"""The rules' condition language: evaluation on facts, and the errors that name the bad part."""

from __future__ import annotations

import pytest

from helpdesk.automation import actions, conditions
from helpdesk.automation.conditions import Facts, Field
from helpdesk.errors import ValidationFailed

FACTS = Facts(channel="email", subject="Demande de REMBOURSEMENT commande 42",
              body="Bonjour, je voudrais être remboursé.", status="new", priority="normal",
              queue_id=3, tags=frozenset({"vip", "returns"}),
              customer_emails=("ada@shop.example", "ada@gmail.com"), language="fr-CA")


def holds(data, facts=FACTS):
    return conditions.parse(data, queue_ids={3, 4}).holds(facts)


def one(field, op, value):
    return {"all": [{"field": field, "op": op, "value": value}]}


@pytest.mark.parametrize(("field", "op", "value", "expected"), [
    ("subject", "contains", "remboursement", True),  # case does not matter
    ("subject", "not_contains", "remboursement", False),
    ("subject", "starts_with", "demande", True),
    ("subject", "is", "demande de remboursement commande 42", True),
    ("subject", "is_not", "other", True),
    ("subject", "in", ["x", "DEMANDE DE REMBOURSEMENT COMMANDE 42"], True),
    ("subject", "matches", r"commande \d+$", True),
    ("subject", "matches", r"^commande", False),
    ("body", "contains", "remboursé", True),
    ("channel", "is", "email", True),
    ("channel", "in", ["chat", "phone"], False),
    ("status", "is_not", "solved", True),
    ("priority", "is", "high", False),
    ("queue", "is", 3, True),
    ("queue", "is", None, False),
    ("queue", "in", [4], False),
    ("tags", "contains", "VIP", True),
    ("tags", "not_contains", "spam", True),
    ("tags", "in", ["spam", "returns"], True),
    ("customer_email", "is", "ada@gmail.com", True),  # any of the addresses
    ("customer_email", "is_not", "ada@gmail.com", False),  # none of them
    ("customer_domain", "is", "shop.example", True),
    ("customer_domain", "not_contains", "yahoo", True),
    ("customer_domain", "matches", r"^(gmail|hotmail)\.com$", True),
    ("language", "starts_with", "fr", True),
    ("language", "is", "en", False),
])
def test_each_field_and_operator(field, op, value, expected):
    assert holds(one(field, op, value)) is expected


def test_a_missing_value_never_equals_and_is_not_holds():
    facts = Facts(**{**FACTS.__dict__, "language": None, "queue_id": None})
    assert holds(one("language", "is", "fr"), facts) is False
    assert holds(one("language", "is_not", "fr"), facts) is True
    assert holds(one("queue", "is", None), facts) is True


def test_all_any_and_nested_groups():
    refund = {"field": "subject", "op": "contains", "value": "remboursement"}
    chat = {"field": "channel", "op": "is", "value": "chat"}
    vip = {"field": "tags", "op": "contains", "value": "vip"}
    assert holds({"all": [refund, vip]}) is True
    assert holds({"all": [refund, chat]}) is False
    assert holds({"any": [chat, vip]}) is True
    assert holds({"all": [refund, {"any": [chat, {"all": [vip]}]}]}) is True
    assert holds({"all": []}) is True
    assert holds({}) is True


def test_a_runaway_pattern_counts_as_no_match():
    facts = Facts(**{**FACTS.__dict__, "subject": "a" * 5000 + "!"})
    assert holds(one("subject", "matches", r"^(\w+\s?)*$"), facts) is False


def test_stored_form_round_trips():
    data = {"any": [{"field": "tags", "op": "in", "value": ["VIP ", "gold"]},
                    {"all": [{"field": "queue", "op": "is", "value": 4}]}]}
    stored = conditions.to_json(conditions.parse(data, queue_ids={4}))
    assert stored == {"any": [{"field": "tags", "op": "in", "value": ["vip", "gold"]},
                              {"all": [{"field": "queue", "op": "is", "value": 4}]}]}
    assert conditions.parse(stored).fields == {Field.TAGS, Field.QUEUE}


@pytest.mark.parametrize(("data", "path", "words"), [
    ([], "conditions", "a group is"),
    ({"all": [], "any": []}, "conditions", "a group is"),
    ({"all": "x"}, "conditions.all", "must be a list"),
    ({"all": [{"field": "subjet", "op": "is", "value": "x"}]}, "conditions.all[0].field",
     "'subjet' is not one of"),
    ({"all": [{"field": "subject", "op": "like", "value": "x"}]}, "conditions.all[0].op",
     "'like' is not one of"),
    ({"all": [{"field": "status", "op": "contains", "value": "x"}]}, "conditions.all[0].op",
     "status takes in, is, is_not"),
    ({"all": [{"field": "status", "op": "is", "value": "closd"}]}, "conditions.all[0].value",
     "'closd' is not one of"),
    ({"all": [{"field": "subject", "op": "is", "value": " "}]}, "conditions.all[0].value",
     "non-empty text"),
    ({"all": [{"field": "subject", "op": "in", "value": []}]}, "conditions.all[0].value",
     "in takes a list"),
    ({"all": [{"field": "channel", "op": "in", "value": ["email", "fax"]}]},
     "conditions.all[0].value[1]", "'fax' is not one of"),
    ({"all": [{"field": "queue", "op": "is", "value": 99}]}, "conditions.all[0].value",
     "queue 99 does not exist"),
    ({"all": [{"field": "queue", "op": "is", "value": "Billing"}]}, "conditions.all[0].value",
     "by its id"),
    ({"all": [{"field": "subject", "op": "matches", "value": "(unclosed"}]},
     "conditions.all[0].value", "not a valid regular expression"),
    ({"all": [{"field": "subject", "op": "matches", "value": "a" * 201}]},
     "conditions.all[0].value", "at most 200 characters"),
    ({"all": [{"field": "subject", "op": "is"}]}, "conditions.all[0]", "a condition is"),
    ({"any": [{"all": [{"any": [{"all": []}]}]}]}, "conditions.any[0].all[0].any[0]",
     "nest at most 3 deep"),
    ({"all": [{"field": "subject", "op": "is", "value": "x"}] * 51}, "conditions",
     "at most 50 conditions"),
])
def test_validation_errors_name_the_bad_part(data, path, words):
    with pytest.raises(ValidationFailed) as error:
        conditions.parse(data, queue_ids={3})
    assert error.value.field == path
    assert words in error.value.message
    assert error.value.message.startswith(f"{path}: ")


KNOWN = actions.Known(queue_ids=frozenset({3}), agent_ids=frozenset({7, 8}))


def test_actions_are_checked_and_normalised():
    data = [{"type": "set_queue", "queue_id": 3}, {"type": "set_priority", "priority": "high"},
            {"type": "set_status", "status": "solved", "message": "  Closing this.  "},
            {"type": "add_tags", "tags": ["Refund", "refund", "billing"]},
            {"type": "notify", "text": "Look", "user_ids": [8, 7, 8]}]
    assert actions.parse(data, KNOWN) == [
        {"type": "set_queue", "queue_id": 3}, {"type": "set_priority", "priority": "high"},
        {"type": "set_status", "status": "solved", "message": "Closing this."},
        {"type": "add_tags", "tags": ["billing", "refund"]},
        {"type": "notify", "text": "Look", "user_ids": [7, 8]}]


@pytest.mark.parametrize(("data", "path", "words"), [
    ([], "actions", "a list of 1 to 20 actions"),
    ([{"queue_id": 3}], "actions[0]", "an action is"),
    ([{"type": "close"}], "actions[0].type", "'close' is not one of"),
    ([{"type": "set_queue"}], "actions[0].queue_id", "set_queue needs queue_id"),
    ([{"type": "set_queue", "queue_id": 9}], "actions[0].queue_id", "queue 9 does not exist"),
    ([{"type": "set_queue", "queue_id": 3, "priority": "high"}], "actions[0].priority",
     "set_queue does not take priority"),
    ([{"type": "set_priority", "priority": "asap"}], "actions[0].priority",
     "'asap' is not one of"),
    ([{"type": "assign", "agent_id": 1}], "actions[0].agent_id", "not an active agent"),
    ([{"type": "assign", "agent_id": "7"}], "actions[0].agent_id", "must be an id"),
    ([{"type": "add_tags", "tags": []}], "actions[0].tags", "a list of 1 to 20 tags"),
    ([{"type": "add_note", "body": ""}], "actions[0].body", "non-empty text"),
    ([{"type": "notify", "text": "Hi"}], "actions[0].user_ids", "needs user_ids or assignee"),
    ([{"type": "notify", "text": "Hi", "assignee": "yes"}], "actions[0].assignee",
     "true or false"),
])
def test_action_errors_name_the_bad_part(data, path, words):
    with pytest.raises(ValidationFailed) as error:
        actions.parse(data, KNOWN)
    assert (error.value.field, words in error.value.message) == (path, True), error.value
