"""The README's references list every setting and every command, so they cannot drift."""

import tomllib
from pathlib import Path

from config.settings import DEFAULTS_FILE
from helpdesk.cli import db_group, serve
from helpdesk.cli_admin import demo_group, queues_group, users_group

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_reference():
    keys = tomllib.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))
    missing = [k for k in keys if f"| `{k}` | `COMPTOIR_{k.upper()}` |" not in README]
    assert not missing


def test_every_command_is_in_the_command_reference():
    commands = [f"{group.name} {name}" for group in (db_group, users_group, queues_group,
                                                     demo_group) for name in group.commands]
    missing = [c for c in [*commands, serve.name] if f"| `comptoir {c}" not in README]
    assert not missing
