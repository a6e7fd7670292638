"""The float setting ``search_refresh_seconds``: read from text or numbers, checked."""

import pytest

from config.settings import ConfigError, _coerce

KEY = "search_refresh_seconds"


@pytest.mark.parametrize(("raw", "expected"), [
    ("2.5", 2.5), (" 0.25 ", 0.25), ("0", 0.0), ("3", 3.0), (4, 4.0), (1.5, 1.5), ("1e-3", 0.001),
])
def test_numbers_and_numeric_text_become_floats(raw, expected):
    value = _coerce(KEY, raw)
    assert value == expected and type(value) is float


@pytest.mark.parametrize("raw", ["soon", "", None, [1.0], True, False])
def test_a_value_that_is_not_a_number_names_the_variable(raw):
    with pytest.raises(ConfigError, match=r"COMPTOIR_SEARCH_REFRESH_SECONDS: expected a number"):
        _coerce(KEY, raw)


@pytest.mark.parametrize("raw", ["-1", -0.5, "inf", "nan", float("inf")])
def test_negative_or_non_finite_numbers_are_refused(raw):
    with pytest.raises(ConfigError, match=r"COMPTOIR_SEARCH_REFRESH_SECONDS: must be a finite"):
        _coerce(KEY, raw)
