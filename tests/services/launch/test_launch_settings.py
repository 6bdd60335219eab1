"""The launch settings: defaults, reading from the environment, refusing bad values with their names."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from poms_dd.errors import ConfigurationError
from poms_dd.settings import Settings

BASE = {"POMS_DD_DATABASE_URL": "postgresql+psycopg2://u@h/db", "POMS_DD_SECRET_KEY": "k",
        "POMS_DD_ENCRYPTION_KEY": Fernet.generate_key().decode()}


def test_launch_defaults():
    s = Settings.from_env(BASE)
    assert s.launch_timeout == 600 and s.launch_log_max_bytes == 1024 * 1024
    assert s.ssh_command_argv == ("ssh",)
    assert s.ssh_options_argv == ("-o", "BatchMode=yes", "-o", "ConnectTimeout=20")


def test_launch_settings_are_read_and_split_like_a_shell():
    s = Settings.from_env({**BASE, "POMS_DD_LAUNCH_TIMEOUT": "30", "POMS_DD_LAUNCH_LOG_MAX_BYTES": "65536",
                           "POMS_DD_SSH_COMMAND": "/opt/ssh -4", "POMS_DD_SSH_OPTIONS": "-o 'ProxyJump=a b'"})
    assert s.launch_timeout == 30 and s.launch_log_max_bytes == 65536
    assert s.ssh_command_argv == ("/opt/ssh", "-4") and s.ssh_options_argv == ("-o", "ProxyJump=a b")


def test_bad_launch_settings_are_all_named():
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env({**BASE, "POMS_DD_LAUNCH_TIMEOUT": "ten", "POMS_DD_LAUNCH_LOG_MAX_BYTES": "10",
                           "POMS_DD_SSH_OPTIONS": "-o 'unclosed", "POMS_DD_SSH_COMMAND": "  "})
    text = str(err.value)
    assert "POMS_DD_LAUNCH_TIMEOUT must be a whole number, not 'ten'" in text
    assert "POMS_DD_LAUNCH_LOG_MAX_BYTES must be at least 4096" in text
    assert "POMS_DD_SSH_OPTIONS is not a valid shell word list" in text
    assert "POMS_DD_SSH_COMMAND must name the ssh program" in text
    with pytest.raises(ConfigurationError, match="POMS_DD_LAUNCH_TIMEOUT must be at least 1"):
        Settings.from_env({**BASE, "POMS_DD_LAUNCH_TIMEOUT": "0"})


def test_every_setting_is_documented_in_the_example_file():
    from pathlib import Path
    import dataclasses
    text = (Path(__file__).resolve().parents[3] / "config" / "poms_dd.env.example").read_text()
    for f in dataclasses.fields(Settings):
        assert f"POMS_DD_{f.name.upper()}=" in text
