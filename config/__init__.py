"""Comptoir configuration: defaults in ``defaults.toml``, overridden by ``COMPTOIR_*``."""

from config.settings import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
