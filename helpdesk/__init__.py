"""Comptoir helpdesk.

``create_app`` lives in ``helpdesk.factory`` and is imported on first use: importing the
package alone loads nothing else, so ``comptoir`` (``helpdesk.launcher``) can pause the
garbage collector before the application's modules load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helpdesk.factory import create_app, load_languages

__all__ = ["create_app", "load_languages"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from helpdesk import factory

        return getattr(factory, name)
    raise AttributeError(f"module 'helpdesk' has no attribute {name!r}")
