"""Settings: defaults < instance comptoir.toml < COMPTOIR_* < overrides, each value checked.

These read and write files in a temporary instance folder (hence integration).
"""

import re
import stat

import pytest

from config import load_settings
from config.settings import ConfigError


@pytest.fixture
def instance(tmp_path):
    folder = tmp_path / "instance"
    folder.mkdir()
    return folder


def load(instance, environ=None, **overrides):
    return load_settings({"instance_path": str(instance), **overrides}, environ=environ or {})


def write_instance_file(instance, text):
    (instance / "comptoir.toml").write_text(text, encoding="utf-8")


def test_defaults(instance):
    settings = load(instance, secret_key="s")
    assert (settings.host, settings.port, settings.redis_url) == ("127.0.0.1", 5000, "")
    assert (settings.languages, settings.default_locale) == (["en", "fr"], "en")
    assert (settings.page_size, settings.max_page_size) == (25, 100)
    assert settings.session_cookie_secure is False
    assert settings.testing is False
    assert settings.database_url == f"sqlite:///{instance / 'comptoir.db'}"
    assert settings.instance_path == str(instance.resolve())


def test_instance_file_overrides_defaults_and_environment_overrides_it(instance):
    write_instance_file(instance, 'port = 6000\nlog_level = "DEBUG"\nredis_url = "redis://r"\n')
    settings = load(instance, {"COMPTOIR_PORT": "7000"}, secret_key="s")
    assert (settings.port, settings.log_level, settings.redis_url) == (7000, "DEBUG", "redis://r")


def test_overrides_win_over_the_environment(instance):
    settings = load(instance, {"COMPTOIR_PORT": "7000"}, port=8000, secret_key="s")
    assert settings.port == 8000


def test_the_instance_folder_given_in_overrides_is_where_the_instance_file_is_read(tmp_path):
    from_env, chosen = tmp_path / "env-instance", tmp_path / "chosen"
    for folder, port in ((from_env, 1111), (chosen, 2222)):
        folder.mkdir()
        write_instance_file(folder, f"port = {port}\n")
    settings = load(chosen, {"COMPTOIR_INSTANCE_PATH": str(from_env)}, secret_key="s")
    assert (settings.port, settings.instance_path) == (2222, str(chosen))


def test_instance_path_from_the_environment_is_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={"COMPTOIR_INSTANCE_PATH": "relative",
                                      "COMPTOIR_SECRET_KEY": "s"})
    assert settings.instance_path == str(tmp_path / "relative")


@pytest.mark.parametrize(("variable", "raw", "key", "expected"), [
    ("COMPTOIR_PORT", " 8080 ", "port", 8080),
    ("COMPTOIR_SESSION_COOKIE_SECURE", "yes", "session_cookie_secure", True),
    ("COMPTOIR_SESSION_COOKIE_SECURE", "Off", "session_cookie_secure", False),
    ("COMPTOIR_TESTING", "1", "testing", True),
    ("COMPTOIR_LANGUAGES", "fr, en", "languages", ["fr", "en"]),
    ("COMPTOIR_LANGUAGES", '["en", "de"]', "languages", ["en", "de"]),
    ("COMPTOIR_DATABASE_URL", "postgresql+psycopg://db/x", "database_url",
     "postgresql+psycopg://db/x"),
])
def test_environment_values_are_coerced_to_the_declared_type(instance, variable, raw, key,
                                                             expected):
    settings = load(instance, {variable: raw}, secret_key="s")
    assert getattr(settings, key) == expected


@pytest.mark.parametrize(("environ", "named"), [
    ({"COMPTOIR_PROT": "80"}, "COMPTOIR_PROT"),
    ({"COMPTOIR_PORT": "eighty"}, "COMPTOIR_PORT"),
    ({"COMPTOIR_PORT": "80.5"}, "COMPTOIR_PORT"),
    ({"COMPTOIR_PORT": "0"}, "COMPTOIR_PORT"),
    ({"COMPTOIR_PORT": "-1"}, "COMPTOIR_PORT"),
    ({"COMPTOIR_PORT": "70000"}, "COMPTOIR_PORT"),
    ({"COMPTOIR_PAGE_SIZE": "500"}, "COMPTOIR_PAGE_SIZE"),
    ({"COMPTOIR_MAX_CONTENT_LENGTH": ""}, "COMPTOIR_MAX_CONTENT_LENGTH"),
    ({"COMPTOIR_SESSION_COOKIE_SECURE": "maybe"}, "COMPTOIR_SESSION_COOKIE_SECURE"),
    ({"COMPTOIR_LANGUAGES": '["en", '}, "COMPTOIR_LANGUAGES"),
    ({"COMPTOIR_LANGUAGES": "en,,fr"}, "COMPTOIR_LANGUAGES"),
    ({"COMPTOIR_LANGUAGES": "[1, 2]"}, "COMPTOIR_LANGUAGES"),
    ({"COMPTOIR_DEFAULT_LOCALE": "de"}, "COMPTOIR_DEFAULT_LOCALE"),
    ({"COMPTOIR_LANGUAGES": "fr"}, "COMPTOIR_DEFAULT_LOCALE"),
])
def test_bad_environment_values_name_the_variable(instance, environ, named):
    with pytest.raises(ConfigError, match=named):
        load(instance, environ, secret_key="s")


def test_the_test_suite_variables_are_not_settings(instance):
    load(instance, {"COMPTOIR_TEST_BACKENDS": "sqlite"}, secret_key="s")


@pytest.mark.parametrize(("text", "named"), [
    ("port = 5000.9\n", "COMPTOIR_PORT"),
    ('port = "80"\nsession_cookie_secure = "sometimes"\n', "COMPTOIR_SESSION_COOKIE_SECURE"),
    ("host = 42\n", "COMPTOIR_HOST"),
    ("colour = 'blue'\n", r"unknown setting.*colour"),
    ("instance_path = '/elsewhere'\n", "COMPTOIR_INSTANCE_PATH"),
    ("port = \n", "not valid TOML"),
])
def test_bad_instance_file_values_are_refused(instance, text, named):
    write_instance_file(instance, text)
    with pytest.raises(ConfigError, match=named):
        load(instance, secret_key="s")


def test_unknown_override_is_refused(instance):
    with pytest.raises(ConfigError, match=r"overrides: unknown setting.*colour"):
        load(instance, colour="blue")


def test_secret_key_is_generated_once_private_and_reused(instance):
    first = load(instance).secret_key
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert load(instance).secret_key == first
    assert key_file.read_text(encoding="utf-8") == first
    assert [p.name for p in instance.iterdir()] == ["secret_key"]  # no draft left behind


def test_an_explicit_secret_key_writes_no_file(instance):
    assert load(instance, {"COMPTOIR_SECRET_KEY": "from-env"}).secret_key == "from-env"
    assert not (instance / "secret_key").exists()


def test_an_empty_secret_key_file_is_refused(instance):
    (instance / "secret_key").write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="secret_key is empty"):
        load(instance)


def test_the_bot_engine_is_the_built_in_one_unless_rasa_is_chosen(instance):
    settings = load(instance, secret_key="s")
    assert (settings.bot_engine, settings.rasa_url, settings.rasa_timeout_seconds) == (
        "builtin", "", 10.0)
    rasa = load(instance, {"COMPTOIR_BOT_ENGINE": "rasa",
                           "COMPTOIR_RASA_URL": "http://127.0.0.1:5005",
                           "COMPTOIR_RASA_TIMEOUT_SECONDS": "2.5"}, secret_key="s")
    assert (rasa.bot_engine, rasa.rasa_url, rasa.rasa_timeout_seconds) == (
        "rasa", "http://127.0.0.1:5005", 2.5)


@pytest.mark.parametrize(("environ", "message"), [
    ({"COMPTOIR_BOT_ENGINE": "dialogflow"},
     "COMPTOIR_BOT_ENGINE: expected one of builtin, rasa, got 'dialogflow'"),
    ({"COMPTOIR_BOT_ENGINE": "rasa"}, "COMPTOIR_RASA_URL is empty but COMPTOIR_BOT_ENGINE is rasa"),
    ({"COMPTOIR_BOT_ENGINE": "rasa", "COMPTOIR_RASA_URL": "127.0.0.1:5005"},
     "COMPTOIR_RASA_URL: expected an http:// or https:// address, got '127.0.0.1:5005'"),
    ({"COMPTOIR_RASA_TIMEOUT_SECONDS": "0"}, "COMPTOIR_RASA_TIMEOUT_SECONDS: must be above 0"),
])
def test_a_bad_bot_engine_setting_is_refused_by_name(instance, environ, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(instance, environ, secret_key="s")
