"""``poms-dd experiment ...`` through click's CliRunner, on the test's rolled-back transaction; connection tests
use the real clients against the testbed."""
from __future__ import annotations

import logging
import re

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from factories import make_user
from poms_dd.crypto import SecretBox
from poms_dd.models import AuditEvent, Experiment, ExperimentMembership
from poms_dd.cli.context import CliContext
from poms_dd.cli.experiments import command

SECRET = "Cli-Secret-Canary-93xQ"


@pytest.fixture
def run(session_factory, settings):
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(command, [str(a) for a in args], input=input,
                             obj=CliContext(session_factory, settings))
    return invoke


def tb_args(tb, name="hypot"):
    return ["create", name, "--metacat-url", tb.mc_url, "--metacat-auth-url", tb.mc_url + "/auth",
            "--dd-url", tb.dd_url, "--dd-auth-url", tb.dd_url + "/auth", "--rucio-host", tb.rucio_url,
            "--default-namespace", "hypot", "--role", "hypot/production", "--service-account", "poms",
            "--password-stdin"]


def test_create_reads_the_password_from_stdin_and_encrypts_it(run, session, settings):
    result = run("create", "dune", "--metacat-url", "https://mc.example.org/app", "--service-account", "svc",
                 "--worker-timeout", "600", "--password-stdin", input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    assert "onboarded experiment dune" in result.output and SECRET not in result.output
    exp = session.scalar(select(Experiment).where(Experiment.name == "dune"))
    assert exp.default_worker_timeout == 600 and exp.rucio_account == "svc"
    cred = exp.credential("metacat")
    assert cred.username == "svc" and SECRET.encode() not in cred.secret_encrypted
    assert SecretBox.from_settings(settings).decrypt(cred.secret_encrypted) == SECRET
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "experiment.create")).one()
    assert event.actor.startswith("cli:") and SECRET not in str(event.after)


def test_show_never_prints_the_secret(run):
    run("create", "dune", "--metacat-url", "https://mc.example.org/app", "--service-account", "svc",
        "--password-stdin", input=SECRET + "\n")
    for args in (("show", "dune"), ("show", "dune", "--json"), ("list",)):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert SECRET not in result.output
    shown = run("show", "dune").output
    assert "metacat.secret" in shown and "set" in shown and "https://mc.example.org/app" in shown


def test_field_errors_exit_non_zero_and_name_the_field(run, session):
    result = run("create", "dune", "--metacat-url", "ftp://mc", "--service-account", "svc",
                 "--x509-cert", "/etc/c.pem")
    assert result.exit_code == 1
    assert "metacat_url:" in result.output and "metacat.key_path:" in result.output
    assert session.scalar(select(Experiment)) is None
    result = run("create", "dune", "--password-stdin", "--x509-cert", "/c", "--x509-key", "/k", input="x\n")
    assert result.exit_code == 2 and "Choose one way" in result.output


def test_update_changes_only_given_options_and_one_service(run, session, settings):
    run("create", "dune", "--metacat-url", "https://mc.example.org/app", "--rucio-host", "https://rucio.example.org",
        "--service-account", "svc", "--password-stdin", input=SECRET + "\n")
    files = settings.token_files_dir()
    result = run("update", "dune", "--service", "rucio", "--x509-cert", f"{files}/c.pem", "--x509-key", f"{files}/k.pem")
    assert result.exit_code == 0, result.output
    exp = session.scalar(select(Experiment).where(Experiment.name == "dune"))
    session.refresh(exp)
    assert exp.credential("rucio").method == "x509" and exp.credential("rucio").secret_encrypted is None
    assert exp.credential("metacat").method == "password" and exp.credential("metacat").secret_encrypted
    assert exp.metacat_url == "https://mc.example.org/app"
    assert run("update", "nope", "--description", "x").exit_code == 1


def test_members(run, session):
    run("create", "dune", "--metacat-url", "https://mc.example.org/app", "--service-account", "svc",
        "--password-stdin", input="pw\n")
    make_user(session, "carol")
    assert run("add-member", "dune", "carol", "production").exit_code == 0
    listed = run("members", "dune")
    assert "carol" in listed.output and "production" in listed.output
    assert run("add-member", "dune", "carol", "analysis").exit_code == 0
    m = session.scalars(select(ExperimentMembership)).one()
    session.refresh(m)
    assert m.role == "analysis"
    assert run("add-member", "dune", "ghost", "analysis").exit_code == 1
    assert run("remove-member", "dune", "carol").exit_code == 0
    assert "no members" in run("members", "dune").output


def test_connection_test_tokens_against_the_testbed(run, testbed, caplog):
    caplog.set_level(logging.DEBUG)
    assert run(*tb_args(testbed), input="poms\n").exit_code == 0
    result = run("test", "hypot")
    assert result.exit_code == 0, result.output
    assert result.output.count(" OK ") == 3 and "signed in as poms" in result.output
    assert "FNAL_DCACHE_DISK" in result.output
    status = run("token-status", "hypot")
    assert status.exit_code == 0
    assert status.output.count("token=poms") >= 2
    refreshed = run("refresh-tokens", "hypot")
    assert refreshed.exit_code == 0 and refreshed.output.count("token=poms") == 3, refreshed.output


def test_connection_test_exits_non_zero_when_a_service_fails(run, fresh_testbed):
    assert run(*tb_args(fresh_testbed), input="poms\n").exit_code == 0
    requests.post(f"{fresh_testbed.url}/_testbed/fault", params={"service": "rucio", "status": 500}, timeout=10)
    result = run("test", "hypot")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("Rucio") and "FAIL" in line for line in lines)
    assert any(line.startswith("MetaCat") and " OK " in line for line in lines)
    assert "error:" in result.output and "500" in result.output
    assert run("refresh-tokens", "hypot").exit_code == 1


def test_tls_and_timeout_options_are_stored_shown_and_cleared(run, session, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    result = run("create", "dune", "--metacat-url", "https://mc.example.org/app", "--service-account", "svc",
                 "--ca-path", ca, "--no-verify-tls", "--timeout", "45", "--rucio-vo", "dne", "--password-stdin",
                 input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    assert "warning: dune: TLS verification is off" in result.output and "Only for test servers" in result.output
    exp = session.scalar(select(Experiment).where(Experiment.name == "dune"))
    assert (exp.ca_path, exp.verify_tls, exp.service_timeout, exp.rucio_vo) == (str(ca), False, 45, "dne")
    shown = run("show", "dune").output
    assert re.search(rf"^ca_path +{re.escape(str(ca))}$", shown, re.M)
    assert re.search(r"^verify_tls +False$", shown, re.M) and re.search(r"^service_timeout +45$", shown, re.M)
    assert re.search(r"^rucio_vo +dne$", shown, re.M) and "TLS verification is off" in shown
    result = run("update", "dune", "--verify-tls", "--ca-path", "", "--timeout", "", "--rucio-vo", "")
    assert result.exit_code == 0 and "warning" not in result.output, result.output
    session.refresh(exp)
    assert (exp.ca_path, exp.verify_tls, exp.service_timeout, exp.rucio_vo) == (None, True, None, None)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "experiment.update")).one()
    assert event.before["verify_tls"] is False and event.after["verify_tls"] is True


def test_tls_option_errors_name_the_field(run, session):
    result = run("create", "dune", "--metacat-url", "https://mc.example.org/app", "--service-account", "svc",
                 "--ca-path", "/no/such/certificates", "--timeout", "0", "--rucio-vo", "toolong",
                 "--password-stdin", input="pw\n")
    assert result.exit_code == 1
    assert "ca_path: /no/such/certificates does not exist on the poms_dd server" in result.output
    assert "service_timeout: Enter the seconds" in result.output and "rucio_vo: A Rucio VO" in result.output
    assert session.scalar(select(Experiment)) is None


def test_a_password_with_a_leading_space_is_refused_and_a_trailing_newline_stripped(run, session, settings):
    result = run("create", "dune", "--metacat-url", "https://mc.example.org/app", "--service-account", "svc",
                 "--password-stdin", input=" " + SECRET + "\n")
    assert result.exit_code == 1
    assert "metacat.secret:" in result.output and "starts or ends with a space" in result.output
    assert SECRET not in result.output and session.scalar(select(Experiment)) is None
    result = run("create", "dune", "--metacat-url", "https://mc.example.org/app", "--service-account", "svc",
                 "--password-stdin", input=SECRET + "\r\n")
    assert result.exit_code == 0, result.output
    cred = session.scalar(select(Experiment)).credential("metacat")
    assert SecretBox.from_settings(settings).decrypt(cred.secret_encrypted) == SECRET


def test_credentials_in_a_url_and_files_outside_the_token_directory_are_refused(run, session, settings):
    result = run("create", "dune", "--metacat-url", "https://svc:Url-Canary-31@mc.example.org/app")
    assert result.exit_code == 1
    assert "metacat_url:" in result.output and "must not contain a user name or password" in result.output
    assert "Url-Canary-31" not in result.output
    result = run("create", "dune", "--metacat-url", "https://mc.example.org/app", "--service-account", "svc",
                 "--token-file", "/etc/shadow")
    assert result.exit_code == 1
    assert "metacat.token_file:" in result.output and settings.token_files_dir() in result.output
    assert session.scalar(select(Experiment)) is None
    inside = f"{settings.token_files_dir()}/svc.token"
    assert run("create", "dune", "--metacat-url", "https://mc.example.org/app", "--service-account", "svc",
               "--token-file", inside).exit_code == 0
    assert session.scalar(select(Experiment)).credential("metacat").token_file == inside
