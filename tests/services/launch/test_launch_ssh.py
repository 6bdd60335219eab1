"""The ssh executor, proven end to end through a real shell: a fake ``ssh`` (a script in the test's tmp dir)
records its argv and runs the remote string with bash, as sshd does with the account's login shell."""
from __future__ import annotations

import os
import shlex
import stat
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet

from poms_dd.errors import InvalidInput
from poms_dd.services.launch.environment import PLACEHOLDERS, launch_environment, render_command
from poms_dd.services.launch.executors import LocalExecutor, SshExecutor, executor_for
from poms_dd.settings import Settings

FAKE_SSH = """#!/bin/bash
# argv, NUL-separated, next to this script; then what sshd does: the login shell runs the last argument
printf '%s\\0' "$@" > "$(dirname "$0")/argv"
env -0 > "$(dirname "$0")/ssh-env"
exec /bin/bash -c "${@: -1}"
"""


@pytest.fixture
def fake_ssh(tmp_path):
    path = tmp_path / "bin" / "fake-ssh"
    path.parent.mkdir()
    path.write_text(FAKE_SSH)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _read0(path):
    return [item for item in path.read_text().split("\0") if item]


def _env(query: str) -> dict[str, str]:
    return launch_environment(task_id=7, project_id=None, query=query, parameter="param: 01-20030-es",
                              virtual=True, load_limit=3, dd_url="http://dd", dd_auth_url="http://dd/auth",
                              metacat_url="http://mc", metacat_auth_url="http://mc/auth",
                              extra={"POMS_CAMPAIGN_NAME": "it's \"c\" (1)"})


def test_the_argv_shape_and_the_remote_string(fake_ssh):
    ex = SshExecutor("launch.example.org", "poms", ssh_command=(str(fake_ssh), "-4"),
                     options=("-o", "BatchMode=yes"))
    env = {"A": "x y", "B": "it's"}
    argv = ex.argv("do-it {a}", env, setup="source /setup.sh")
    assert argv[:4] == [str(fake_ssh), "-4", "-o", "BatchMode=yes"] and argv[4] == "poms@launch.example.org"
    assert len(argv) == 6
    words = shlex.split(argv[5])
    assert words[:2] == ["/bin/bash", "-c"] and len(words) == 3
    assert words[2] == "export A='x y'\nexport B='it'\"'\"'s'\nsource /setup.sh\ndo-it {a}\n"
    assert SshExecutor("h", None).destination == "h"
    assert SshExecutor("h", "a", shell=None).remote("cmd", {"K": "v w"}) == "export K='v w'\ncmd\n"


@pytest.mark.parametrize("shell", ["/bin/bash", None])
def test_mql_and_the_environment_reach_the_remote_command_intact_and_inert(tmp_path, fake_ssh, shell,
                                                                           monkeypatch):
    monkeypatch.setenv("POMS_DD_ENCRYPTION_KEY", "worker-secret")
    query = (f"files from hypot:raw where name = 'a \"b\"' and (run > 3) $(touch {tmp_path}/pwned1) "
             f"`touch {tmp_path}/pwned2`; touch {tmp_path}/pwned3\ntouch {tmp_path}/pwned4 ${{HOME}} !! \\")
    env = _env(query)
    values = {name: "" for name in PLACEHOLDERS}
    values.update(query=query, job_config=str(tmp_path / "remote-env"), software_version=str(tmp_path / "arg"))
    command = render_command("env -0 > {job_config}; printf '%s' {query} > {software_version}", values)
    ex = SshExecutor("launch.example.org", "poms", ssh_command=(str(fake_ssh),), options=(), shell=shell)
    result = ex.run(command, env, timeout=30, setup="cd / # setup comment")
    assert result.ok, result.output
    received = dict(item.split("=", 1) for item in _read0(tmp_path / "remote-env"))
    for name, value in env.items():
        assert received[name] == value
    assert (tmp_path / "arg").read_text() == query
    assert not list(tmp_path.glob("pwned*"))
    ssh_env = dict(item.split("=", 1) for item in _read0(fake_ssh.parent / "ssh-env"))
    assert "POMS_DD_ENCRYPTION_KEY" not in ssh_env and "POMS_DD_ENCRYPTION_KEY" not in received
    assert "POMS_DATA_DISPATCHER_TASK_ID" not in ssh_env       # the launch env travels in the remote string only


def test_the_remote_exit_status_and_a_missing_ssh_are_reported(tmp_path, fake_ssh):
    result = SshExecutor("h", "a", ssh_command=(str(fake_ssh),)).run("echo remote; exit 4", {}, timeout=10)
    assert not result.ok and result.reason == "exit status 4" and result.output == "remote\n"
    result = SshExecutor("h", "a", ssh_command=(str(tmp_path / "nossh"),)).run("true", {}, timeout=10)
    assert not result.ok and result.reason.startswith("could not start: ")


@pytest.mark.parametrize("host,account,field", [("-oProxyCommand=touch x", "a", "launch_host"),
                                                 ("h", "-oProxyCommand=x", "launch_account"),
                                                 ("bad host", "a", "launch_host"), ("", "a", "launch_host"),
                                                 ("h", "a@b", "launch_account")])
def test_an_option_like_or_malformed_host_or_account_is_refused(host, account, field):
    with pytest.raises(InvalidInput) as err:
        SshExecutor(host, account)
    assert field in err.value.field_errors


def _settings(**env) -> Settings:
    base = {"POMS_DD_DATABASE_URL": "postgresql+psycopg2://u@h/db", "POMS_DD_SECRET_KEY": "k",
            "POMS_DD_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    return Settings.from_env({**base, **env})


def test_executor_for_picks_the_template_executor_configured_from_the_settings():
    settings = _settings(POMS_DD_SSH_COMMAND="/usr/bin/ssh -4", POMS_DD_SSH_OPTIONS="-o 'ConnectTimeout=5' -q",
                         POMS_DD_LAUNCH_LOG_MAX_BYTES="8192")
    local = executor_for(SimpleNamespace(executor="local", launch_host=None, launch_account=None), settings)
    assert type(local) is LocalExecutor and local.max_output == 8192
    ssh = executor_for(SimpleNamespace(executor="ssh", launch_host="lh.example.org", launch_account="prod"),
                       settings)
    assert isinstance(ssh, SshExecutor) and ssh.max_output == 8192
    assert ssh.argv("c", {})[:5] == ["/usr/bin/ssh", "-4", "-o", "ConnectTimeout=5", "-q"]
    assert ssh.argv("c", {})[5] == "prod@lh.example.org"
    with pytest.raises(InvalidInput, match="Launch host is required"):
        executor_for(SimpleNamespace(executor="ssh", launch_host="", launch_account="a"), settings)
    with pytest.raises(InvalidInput, match="Executor"):
        executor_for(SimpleNamespace(executor="rsh", launch_host="h", launch_account="a"), settings)


def test_the_ssh_process_gets_the_kerberos_cache_but_not_the_workers_secrets(fake_ssh, monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", "FILE:/tmp/krb5cc_test")
    monkeypatch.setenv("POMS_DD_SECRET_KEY", "worker-secret")
    assert SshExecutor("h", "a", ssh_command=(str(fake_ssh),)).run("true", {}, timeout=10).ok
    ssh_env = dict(item.split("=", 1) for item in _read0(fake_ssh.parent / "ssh-env"))
    assert ssh_env["KRB5CCNAME"] == "FILE:/tmp/krb5cc_test" and "POMS_DD_SECRET_KEY" not in ssh_env
    assert ssh_env["PATH"] == os.environ["PATH"]
