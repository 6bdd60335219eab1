"""The session-lifetime, sign-in-limit and HTTPS settings are read from POMS_DD_* variables and checked."""
from __future__ import annotations

import pytest

from poms_dd.errors import ConfigurationError
from poms_dd.settings import Settings

REQUIRED = {"POMS_DD_DATABASE_URL": "postgresql+psycopg2://x@y/z", "POMS_DD_SECRET_KEY": "k",
            "POMS_DD_ENCRYPTION_KEY": "vLMRuHUJg-2Q9OysEA6y_Va9ocNMBcWX6dXb1PzZcLU="}


def test_defaults_and_values_from_the_environment():
    defaults = Settings.from_env(REQUIRED)
    assert (defaults.session_idle_minutes, defaults.session_max_hours) == (480, 24)
    assert (defaults.signin_max_failures_per_user, defaults.signin_max_failures_per_address,
            defaults.signin_failure_window_minutes, defaults.client_address_header) == (5, 20, 15, "")
    assert defaults.uses_https is False
    s = Settings.from_env({**REQUIRED, "POMS_DD_SESSION_IDLE_MINUTES": "30", "POMS_DD_SESSION_MAX_HOURS": "8",
                           "POMS_DD_SIGNIN_MAX_FAILURES_PER_USER": "3", "POMS_DD_HTTPS": "true",
                           "POMS_DD_CLIENT_ADDRESS_HEADER": "X-Forwarded-For"})
    assert (s.session_idle_minutes, s.session_max_hours, s.signin_max_failures_per_user) == (30, 8, 3)
    assert s.uses_https and s.client_address_header == "X-Forwarded-For"
    assert Settings.from_env({**REQUIRED, "POMS_DD_SESSION_COOKIE_SECURE": "yes"}).uses_https   # the old name


def test_bad_numbers_are_named():
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env({**REQUIRED, "POMS_DD_SESSION_IDLE_MINUTES": "eight hours",
                           "POMS_DD_SIGNIN_FAILURE_WINDOW_MINUTES": "0"})
    message = str(err.value)
    assert "POMS_DD_SESSION_IDLE_MINUTES must be a whole number, not 'eight hours'" in message
    assert "POMS_DD_SIGNIN_FAILURE_WINDOW_MINUTES must be at least 1" in message
