"""Typed settings: ``defaults.toml`` < instance ``comptoir.toml`` < ``COMPTOIR_*`` < overrides."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from email.utils import getaddresses
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")
ENV_PREFIX = "COMPTOIR_"
# Variables under this prefix belong to the test suite, not to the settings.
TEST_ENV_PREFIX = "COMPTOIR_TEST_"
INSTANCE_FILE = "comptoir.toml"
MAX_PORT = 65535
SMTP_SECURITY = ("tls", "starttls", "none")
BOT_ENGINES = ("builtin", "rasa")


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


@dataclass(frozen=True)
class Settings:
    instance_path: str
    database_url: str
    database_pool_size: int
    database_pool_timeout: float
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
    embedding_model: str
    search_refresh_seconds: float
    content_gap_similarity: float
    content_gap_refresh_seconds: float
    bot_handover_weight: float
    bot_clarify_margin: float
    bot_max_unhelpful: int
    bot_fallback_min_similarity: float
    bot_batch_window_ms: float
    bot_engine: str
    rasa_url: str
    rasa_timeout_seconds: float
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_username: str
    smtp_password: str
    mail_from: str
    ack_rate_limit_per_hour: int
    public_url: str
    routing_sweep_seconds: int
    presence_auto_away_seconds: float
    calls_signing_secret: str
    calls_signature_max_age: int
    calls_country_code: str
    # Integration hooks ("module:function"), resolved when the app starts.
    order_lookup: str
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
    env = _env_values(environ)
    overrides = _checked_mapping(overrides or {}, "overrides")
    values = _read_toml(DEFAULTS_FILE, "defaults.toml")
    # The instance folder holds a settings file, so it is found first (file < env < overrides).
    instance = _instance_dir({**values, **env, **overrides}["instance_path"])
    values.update(_instance_file_values(instance))
    values.update(env)
    values.update(overrides)
    values["instance_path"] = str(instance)
    settings = Settings(**{key: _coerce(key, values[key]) for key in KEYS if key in values})
    return _with_derived_defaults(settings)


def _instance_dir(configured: Any) -> Path:
    if not isinstance(configured, str | os.PathLike):
        raise ConfigError(f"COMPTOIR_INSTANCE_PATH: expected a folder path, got {configured!r}")
    return Path(configured or Path.cwd() / "instance").resolve()


def _instance_file_values(instance: Path) -> dict[str, Any]:
    path = instance / INSTANCE_FILE
    if not path.is_file():
        return {}
    values = _read_toml(path, str(path))
    if "instance_path" in values:
        raise ConfigError(f"{path}: instance_path cannot be set inside the instance folder; "
                          "use COMPTOIR_INSTANCE_PATH")
    return values


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


def _env_values(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``COMPTOIR_*`` variables as settings; an unknown one is most likely a typo."""
    names = [n for n in environ if n.startswith(ENV_PREFIX) and not n.startswith(TEST_ENV_PREFIX)]
    unknown = sorted(n for n in names if n.removeprefix(ENV_PREFIX).lower() not in KEYS)
    if unknown:
        known = ", ".join(ENV_PREFIX + k.upper() for k in KEYS)
        raise ConfigError(f"{', '.join(unknown)}: unknown setting (known: {known})")
    return {n.removeprefix(ENV_PREFIX).lower(): environ[n] for n in names}


def _coerce(key: str, value: Any) -> Any:
    """Turn a value (often a string from the environment) into the key's declared type."""
    expected = _TYPES[key]
    name = ENV_PREFIX + key.upper()
    if expected is bool:
        return _coerce_bool(name, value)
    if expected is int:
        return _coerce_int(name, value)
    if expected is float:
        return _coerce_float(name, value)
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
    if isinstance(value, bool | float):
        raise ConfigError(f"{name}: expected a whole number, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a whole number, got {value!r}") from None
    if number < 1:
        raise ConfigError(f"{name}: must be at least 1, got {number}")
    return number


def _coerce_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{name}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a number, got {value!r}") from None
    if not 0 <= number < float("inf"):
        raise ConfigError(f"{name}: must be a finite number of at least 0, got {number}")
    return number


def _coerce_list(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = _split_list(name, value.strip())
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{name}: expected a list of names, got {value!r}")
    return value


def _split_list(name: str, text: str) -> Any:
    """A JSON list (``["en", "fr"]``) or comma-separated names (``en,fr``)."""
    if not text.startswith("["):
        return [v.strip() for v in text.split(",")]
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise ConfigError(f"{name}: not a valid JSON list: {text!r}") from None


def _with_derived_defaults(settings: Settings) -> Settings:
    _check_consistency(settings)
    instance = settings.instance_dir
    database_url = settings.database_url or f"sqlite:///{instance / 'comptoir.db'}"
    secret_key = settings.secret_key or _stored_secret_key(instance)
    return replace(settings, database_url=database_url, secret_key=secret_key)


def _check_consistency(settings: Settings) -> None:
    if settings.default_locale not in settings.languages:
        raise ConfigError(
            f"COMPTOIR_DEFAULT_LOCALE: {settings.default_locale!r} is not one of "
            f"COMPTOIR_LANGUAGES {settings.languages}")
    if settings.port > MAX_PORT:
        raise ConfigError(f"COMPTOIR_PORT: {settings.port} is above {MAX_PORT}")
    if settings.page_size > settings.max_page_size:
        raise ConfigError(f"COMPTOIR_PAGE_SIZE: {settings.page_size} is above "
                          f"COMPTOIR_MAX_PAGE_SIZE {settings.max_page_size}")
    _check_mail(settings)
    _check_bot_engine(settings)
    _check_country_code(settings.calls_country_code)
    _check_content_gaps(settings)


def _check_content_gaps(settings: Settings) -> None:
    if not 0 < settings.content_gap_similarity <= 1:
        raise ConfigError(f"COMPTOIR_CONTENT_GAP_SIMILARITY: a cosine above 0 and at most 1, "
                          f"got {settings.content_gap_similarity}")
    if settings.content_gap_refresh_seconds <= 0:
        raise ConfigError(f"COMPTOIR_CONTENT_GAP_REFRESH_SECONDS: must be above 0, "
                          f"got {settings.content_gap_refresh_seconds}")


def _check_country_code(code: str) -> None:
    if code and not (code.isascii() and code.isdigit() and len(code) <= 3 and code[0] != "0"):
        raise ConfigError(f"COMPTOIR_CALLS_COUNTRY_CODE: expected a country calling code such "
                          f"as 33 (no + or 00), got {code!r}")


def _check_mail(settings: Settings) -> None:
    if settings.smtp_port > MAX_PORT:
        raise ConfigError(f"COMPTOIR_SMTP_PORT: {settings.smtp_port} is above {MAX_PORT}")
    if settings.smtp_security not in SMTP_SECURITY:
        raise ConfigError(f"COMPTOIR_SMTP_SECURITY: expected one of {', '.join(SMTP_SECURITY)}, "
                          f"got {settings.smtp_security!r}")
    if settings.smtp_password and not settings.smtp_username:
        raise ConfigError("COMPTOIR_SMTP_PASSWORD is set but COMPTOIR_SMTP_USERNAME is empty")
    if settings.mail_from and not _is_address(settings.mail_from):
        raise ConfigError(f"COMPTOIR_MAIL_FROM: expected an address such as "
                          f"'Support <support@shop.example>', got {settings.mail_from!r}")
    if settings.public_url and not _is_http_url(settings.public_url):
        raise ConfigError(f"COMPTOIR_PUBLIC_URL: expected an http:// or https:// address, "
                          f"got {settings.public_url!r}")


def _check_bot_engine(settings: Settings) -> None:
    if settings.bot_engine not in BOT_ENGINES:
        raise ConfigError(f"COMPTOIR_BOT_ENGINE: expected one of {', '.join(BOT_ENGINES)}, "
                          f"got {settings.bot_engine!r}")
    if settings.bot_engine == "rasa" and not settings.rasa_url:
        raise ConfigError("COMPTOIR_RASA_URL is empty but COMPTOIR_BOT_ENGINE is rasa: give the "
                          "Rasa server's address, e.g. http://127.0.0.1:5005")
    if settings.rasa_url and not _is_http_url(settings.rasa_url):
        raise ConfigError(f"COMPTOIR_RASA_URL: expected an http:// or https:// address, "
                          f"got {settings.rasa_url!r}")
    if settings.rasa_timeout_seconds <= 0:
        raise ConfigError(f"COMPTOIR_RASA_TIMEOUT_SECONDS: must be above 0, "
                          f"got {settings.rasa_timeout_seconds}")


def _is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_address(text: str) -> bool:
    """``addr@domain`` or ``Name <addr@domain>``: one address, with a local part and a domain."""
    parsed = getaddresses([text])
    if len(parsed) != 1:
        return False
    local, _, domain = parsed[0][1].rpartition("@")
    return bool(local) and "." in domain and " " not in parsed[0][1]


def _stored_secret_key(instance: Path) -> str:
    """Read the instance's secret key, generating it (mode 0600) on first run."""
    path = instance / "secret_key"
    if not path.is_file():
        _create_secret_key(path)
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ConfigError(f"{path} is empty: delete it to generate a new key, "
                          "or set COMPTOIR_SECRET_KEY")
    return key


def _create_secret_key(path: Path) -> None:
    """Write a new key atomically; when several processes start at once, the first one wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(draft)
