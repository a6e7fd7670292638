"""The demo: Maison Lumière, a fictional lamp shop with a few weeks of after-sales history."""

from helpdesk.demo.loader import (
    DemoAlreadyLoaded,
    DemoLogin,
    DemoState,
    DemoSummary,
    demo_state,
    ensure_demo_site,
    load_demo,
)

__all__ = ["DemoAlreadyLoaded", "DemoLogin", "DemoState", "DemoSummary", "demo_state",
           "ensure_demo_site", "load_demo"]
