"""The ``order_lookup`` setting is resolved when the app starts: a wrong one stops it."""

import pytest

from config import ConfigError
from helpdesk import create_app
from helpdesk.demo import orders as demo_orders
from helpdesk.integrations.orders import EXTENSION


def settings(tmp_path, **more):
    return {"database_url": f"sqlite:///{tmp_path / 'x.db'}",
            "instance_path": str(tmp_path / "instance"), "secret_key": "s", **more}


def test_the_app_holds_the_hook_its_setting_names(tmp_path):
    app = create_app(settings(tmp_path, order_lookup="helpdesk.demo.orders:lookup"))
    assert app.extensions[EXTENSION] is demo_orders.lookup


def test_a_hook_that_cannot_be_imported_stops_the_start(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPTOIR_ORDER_LOOKUP", "shop.orders:lookup")
    with pytest.raises(ConfigError, match=r"COMPTOIR_ORDER_LOOKUP: cannot import 'shop\.orders'"):
        create_app(settings(tmp_path))
