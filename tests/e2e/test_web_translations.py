"""Every UI string is translated into French in the compiled catalog that ships."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "helpdesk/translations/fr/LC_MESSAGES/messages.mo"


def ui_strings() -> set[str]:
    """What ``pybabel extract -F babel.cfg -k _l`` would extract from the code today."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_french_catalog_translates_every_ui_string():
    with CATALOG.open("rb") as compiled:
        french = {(m.id if isinstance(m.id, str) else m.id[0]): m.string
                  for m in read_mo(compiled) if m.id}
    untranslated = sorted(s for s in ui_strings() if not french.get(s))
    assert untranslated == [], "run the update steps in docs/agent-ui.md (Translations)"
