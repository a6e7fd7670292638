"""Typed settings: ``defaults.toml`` < instance ``comptoir.toml`` < ``COMPTOIR_*`` < overrides."""

from __future__ import annotations

import json
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")
ENV_PREFIX = "COMPTOIR_"
INSTANCE_FILE = "comptoir.toml"


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


@dataclass(frozen=True)
class Settings:
    instance_path: str
    database_url: str
    secret_key: str
    host: str
    port: int
    redis_url: str
    max_content_length: int
    languages: list[str]
    default_locale: str
    default_timezone: str
    page_size: int
    max_page_size: int
    session_cookie_secure: bool
    log_level: str
    testing: bool = False

    @property
    def instance_dir(self) -> Path:
        return Path(self.instance_path)


_TYPES = get_type_hints(Settings)
KEYS = tuple(f.name for f in fields(Settings))


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Merge every source, check each value, and fill the derived defaults."""
    environ = os.environ if environ is None else environ
    values = _read_toml(DEFAULTS_FILE, "defaults.toml")
    values.update(_env_values(environ, ("instance_path",)))
    instance = Path(values["instance_path"] or Path.cwd() / "instance").resolve()
    values["instance_path"] = str(instance)
    if (instance / INSTANCE_FILE).is_file():
        values.update(_read_toml(instance / INSTANCE_FILE, str(instance / INSTANCE_FILE)))
    values.update(_env_values(environ, KEYS))
    values.update(_checked_mapping(overrides or {}, "overrides"))
    settings = Settings(**{key: _coerce(key, values[key]) for key in KEYS if key in values})
    return _with_derived_defaults(settings)


def _read_toml(path: Path, source: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from exc
    return _checked_mapping(data, source)


def _checked_mapping(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    unknown = sorted(set(k.lower() for k in data) - set(KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}")
    return {k.lower(): v for k, v in data.items()}


def _env_values(environ: Mapping[str, str], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: environ[ENV_PREFIX + k.upper()] for k in keys if ENV_PREFIX + k.upper() in environ}


def _coerce(key: str, value: Any) -> Any:
    """Turn a value (often a string from the environment) into the key's declared type."""
    expected = _TYPES[key]
    name = ENV_PREFIX + key.upper()
    if expected is bool:
        return _coerce_bool(name, value)
    if expected is int:
        return _coerce_int(name, value)
    if expected == list[str]:
        return _coerce_list(name, value)
    if not isinstance(value, str):
        raise ConfigError(f"{name}: expected text, got {value!r}")
    return value


def _coerce_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


def _coerce_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{name}: expected an integer, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected an integer, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{name}: must not be negative, got {number}")
    return number


def _coerce_list(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else [v.strip() for v in text.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{name}: expected a list of names, got {value!r}")
    return value


def _with_derived_defaults(settings: Settings) -> Settings:
    instance = settings.instance_dir
    database_url = settings.database_url or f"sqlite:///{instance / 'comptoir.db'}"
    secret_key = settings.secret_key or _stored_secret_key(instance)
    if settings.default_locale not in settings.languages:
        raise ConfigError(
            f"COMPTOIR_DEFAULT_LOCALE: {settings.default_locale!r} is not one of "
            f"COMPTOIR_LANGUAGES {settings.languages}")
    return replace(settings, database_url=database_url, secret_key=secret_key)


def _stored_secret_key(instance: Path) -> str:
    """Read the instance's secret key, generating it (mode 0600) on first run."""
    path = instance / "secret_key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
