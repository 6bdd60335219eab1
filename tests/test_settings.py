import pytest
from cryptography.fernet import Fernet

from poms_dd.errors import ConfigurationError
from poms_dd.settings import Settings


def test_missing_required_settings_are_all_named():
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env({})
    text = str(err.value)
    for name in ("POMS_DD_DATABASE_URL", "POMS_DD_SECRET_KEY", "POMS_DD_ENCRYPTION_KEY"):
        assert name in text


def test_bad_values_are_refused():
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env({"POMS_DD_DATABASE_URL": "sqlite:///x", "POMS_DD_SECRET_KEY": "k",
                           "POMS_DD_ENCRYPTION_KEY": "not-a-key", "POMS_DD_AUTH_MODE": "magic",
                           "POMS_DD_GLOBAL_HOLD": "maybe", "POMS_DD_LOG_LEVEL": "chatty"})
    text = str(err.value)
    assert "POMS_DD_ENCRYPTION_KEY" in text and "POMS_DD_AUTH_MODE" in text
    assert "PostgreSQL" in text and "POMS_DD_GLOBAL_HOLD" in text and "POMS_DD_LOG_LEVEL" in text


def test_settings_read_from_environment():
    key = Fernet.generate_key().decode()
    s = Settings.from_env({"POMS_DD_DATABASE_URL": "postgresql+psycopg2://u@h/db", "POMS_DD_SECRET_KEY": "k",
                           "POMS_DD_ENCRYPTION_KEY": key, "POMS_DD_AUTH_MODE": "header",
                           "POMS_DD_TRUSTED_HEADER": "X-Forwarded-User", "POMS_DD_GLOBAL_HOLD": "yes"})
    assert s.auth_mode == "header" and s.trusted_header == "X-Forwarded-User" and s.global_hold is True
