"""The call settings: a country calling code is digits only; the signing defaults."""

import pytest

from config.settings import ConfigError, load_settings


def settings(tmp_path, **overrides):
    return load_settings({"instance_path": str(tmp_path), **overrides}, environ={})


def test_signing_is_off_and_five_minutes_old_signatures_pass_by_default(tmp_path):
    loaded = settings(tmp_path)
    assert (loaded.calls_signing_secret, loaded.calls_signature_max_age) == ("", 300)
    assert loaded.calls_country_code == ""


def test_a_country_code_is_read_from_the_environment(tmp_path):
    loaded = load_settings({"instance_path": str(tmp_path)},
                           environ={"COMPTOIR_CALLS_COUNTRY_CODE": "33"})
    assert loaded.calls_country_code == "33"


@pytest.mark.parametrize("code", ["+33", "0033", "1234", "3a", "٣"])
def test_a_country_code_that_is_not_one_is_refused(tmp_path, code):
    with pytest.raises(ConfigError, match="COMPTOIR_CALLS_COUNTRY_CODE: expected a country"):
        settings(tmp_path, calls_country_code=code)
