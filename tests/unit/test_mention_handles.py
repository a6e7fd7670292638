"""@mention parsing: which handles a note names (no database)."""

import pytest

from helpdesk.services.mentions import handles_in, name_handle


@pytest.mark.parametrize(("text", "handles"), [
    ("@marie can you check?", ["marie"]),
    ("Ask @Marie.Dupont, then @paul-h.", ["marie.dupont", "paul-h"]),
    ("(@marie) and @marie again", ["marie"]),
    ("write to ada@example.com or a.b@c.d", []),
    ("@@marie and .@marie are not mentions", []),
    ("no mention here, just an @ sign", []),
    ("line\n@x", ["x"]),
])
def test_handles_in(text, handles):
    assert handles_in(text) == handles


@pytest.mark.parametrize(("name", "handle"), [
    ("Marie Dupont", "marie.dupont"),
    ("Éloïse  Martin-Roy", "eloise.martin.roy"),
    ("  ", ""),
])
def test_name_handle(name, handle):
    assert name_handle(name) == handle
