"""bot/rasa/domain.yml speaks both languages and has every response the actions send."""

from __future__ import annotations

import re

from tests.unit.rasa_actions.trackers import ROOT, domain

FRENCH = [{"type": "slot", "name": "language", "value": "fr"}]


def test_every_response_has_an_english_and_a_french_variation():
    for name, variations in domain()["responses"].items():
        conditions = [variation.get("condition") for variation in variations]
        assert sorted(conditions, key=bool) == [None, FRENCH], name


def test_every_response_the_actions_send_is_in_the_domain():
    sources = "".join(path.read_text(encoding="utf-8")
                      for path in (ROOT / "bot" / "actions").glob("*.py"))
    sent = set(re.findall(r'response="(utter_\w+)"', sources))

    assert sent
    assert sent <= set(domain()["responses"])
