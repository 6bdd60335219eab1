"""OnboardingService and SecretBox on the real database (no testbed needed here; see test_admin_pages.py)."""
from __future__ import annotations

import json
import logging
import stat

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from poms_dd.crypto import SecretBox
from poms_dd.errors import ConfigurationError, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from poms_dd.models import AuditEvent, Experiment, ServiceCredential
from poms_dd.permissions import Actor
from poms_dd.services.onboarding.connections import ConnectionService
from poms_dd.services.onboarding.service import OnboardingService
from factories import make_experiment, make_user

SECRET = "s3cret-Pa55word-XYZ"
TOKEN_DIR = "/etc/poms"           # where these tests put token and x509 files (POMS_DD_TOKEN_DIR)


def full_data(name="dune2", secret=SECRET, **overrides):
    data = {
        "name": name, "description": "Deep underground",
        "metacat_url": "https://metacat.example.org:9443/dune_meta_prod/app",
        "metacat_auth_url": "https://metacat.example.org:8143/auth/dune",
        "metacat_gui_url": "https://metacat.example.org:9443/dune_meta_prod/app/gui",
        "dd_url": "https://dd.example.org/dune/dd/data", "dd_auth_url": "", "dd_gui_url": "",
        "rucio_host": "https://rucio.example.org", "rucio_auth_host": "https://rucio-auth.example.org",
        "rucio_account": "dunepro", "service_role": "dune_production", "default_namespace": "dune",
        "default_worker_timeout": "3600", "default_idle_timeout": 86400, "active": True,
        "credentials": {
            "metacat": {"method": "password", "username": "dunepro", "secret": secret},
            "data_dispatcher": {"method": "token_file", "username": "dunepro", "token_file": "/etc/poms/dd.token"},
            "rucio": {"method": "x509", "cert_path": "/etc/poms/cert.pem", "key_path": "/etc/poms/key.pem"},
        },
    }
    data.update(overrides)
    return data


@pytest.fixture
def admin(session):
    return make_user(session, "root_admin", superuser=True)


@pytest.fixture
def box(settings):
    return SecretBox.from_settings(settings)


def onboarding(session, who, box, settings) -> OnboardingService:
    actor = who if isinstance(who, Actor) else Actor.person(who)
    return OnboardingService(session, actor, ConnectionService(box, settings.instance_path, token_dir=TOKEN_DIR))


@pytest.fixture
def service(session, admin, box, settings):
    return onboarding(session, admin, box, settings)


def test_secretbox_round_trip_and_wrong_key(box):
    token = box.encrypt(SECRET)
    assert SECRET.encode() not in token
    assert box.decrypt(token) == SECRET
    other = SecretBox(Fernet.generate_key())
    with pytest.raises(ConfigurationError, match="another POMS_DD_ENCRYPTION_KEY"):
        other.decrypt(token)
    with pytest.raises(ConfigurationError, match="Fernet key"):
        SecretBox("not-a-key")
    assert "key" in repr(box) and Fernet.generate_key().decode() not in repr(box)


def test_create_stores_every_field_and_encrypts_the_secret(service, session, box):
    exp = service.create(full_data())
    assert exp.metacat_auth_url == "https://metacat.example.org:8143/auth/dune"
    assert exp.default_worker_timeout == 3600 and exp.default_idle_timeout == 86400
    assert exp.dd_auth_url is None and exp.service_role == "dune_production"
    raw = session.execute(text("SELECT secret_encrypted FROM service_credential sc JOIN experiment e "
                               "ON e.id = sc.experiment_id WHERE e.name = 'dune2' AND service = 'metacat'")).scalar()
    raw = bytes(raw)
    assert SECRET.encode() not in raw
    assert box.decrypt(raw) == SECRET
    dd = exp.credential("data_dispatcher")
    assert (dd.method, dd.token_file, dd.secret_encrypted) == ("token_file", "/etc/poms/dd.token", None)
    rucio = exp.credential("rucio")
    assert (rucio.cert_path, rucio.key_path) == ("/etc/poms/cert.pem", "/etc/poms/key.pem")


def test_create_is_audited_without_the_secret(service, session):
    exp = service.create(full_data())
    event = session.scalars(select(AuditEvent).where(AuditEvent.experiment_id == exp.id)).one()
    assert event.action == "experiment.create" and event.actor == "root_admin"
    assert event.after["metacat.secret"] == "set" and event.after["rucio.secret"] == "not set"
    assert event.after["metacat_url"] == "https://metacat.example.org:9443/dune_meta_prod/app"
    assert SECRET not in json.dumps(event.after) + event.summary


@pytest.mark.parametrize("who", ["experimenter", "exp_superuser", "nobody"])
def test_only_global_superusers_may_onboard(session, box, settings, who):
    hypot = make_experiment(session, "hypot")
    actor = None if who == "nobody" else make_user(
        session, who, roles={hypot: "superuser" if who == "exp_superuser" else "production"})
    svc = onboarding(session, actor, box, settings)
    expected = NotAuthenticated if actor is None else PermissionDenied
    with pytest.raises(expected):
        svc.create(full_data())
    with pytest.raises(expected):
        svc.update("hypot", {"metacat_url": "https://evil.example.org"})
    with pytest.raises(expected):
        svc.get("hypot")
    assert session.scalar(select(Experiment).where(Experiment.name == "dune2")) is None
    session.refresh(hypot)
    assert hypot.metacat_url is None


def test_cli_operator_may_onboard(session, box, settings):
    svc = onboarding(session, Actor.system_actor("cli:ops"), box, settings)
    exp = svc.create(full_data("cliexp"))
    event = session.scalars(select(AuditEvent).where(AuditEvent.experiment_id == exp.id)).one()
    assert event.actor == "cli:ops"


@pytest.mark.parametrize("overrides, field, fragment", [
    ({"name": "Bad Name"}, "name", "lower-case letter"),
    ({"name": "../etc"}, "name", "lower-case letter"),
    ({"metacat_url": "ftp://metacat.example.org"}, "metacat_url", "http:// or https://"),
    ({"dd_gui_url": "javascript:alert(1)"}, "dd_gui_url", "http:// or https://"),
    ({"rucio_host": "rucio.example.org"}, "rucio_host", "http:// or https://"),
    ({"default_worker_timeout": "-5"}, "default_worker_timeout", "cannot be negative"),
    ({"default_idle_timeout": "soon"}, "default_idle_timeout", "whole number"),
    ({"rucio_account": ""}, "rucio_account", "Rucio account"),
])
def test_field_errors(service, session, overrides, field, fragment):
    with pytest.raises(InvalidInput) as err:
        service.create(full_data(**overrides))
    assert field in err.value.field_errors
    assert fragment in " ".join(err.value.field_errors[field])
    assert session.scalar(select(Experiment).where(Experiment.name == "dune2")) is None


@pytest.mark.parametrize("service_name, cred, field, fragment", [
    ("rucio", {"method": "x509", "cert_path": "/etc/poms/cert.pem"}, "rucio.key_path", "private key"),
    ("rucio", {"method": "x509", "key_path": "/etc/poms/k.pem"}, "rucio.cert_path", "certificate"),
    ("data_dispatcher", {"method": "token_file", "username": "dunepro"}, "data_dispatcher.token_file",
     "path of a bearer-token file"),
    ("data_dispatcher", {"method": "token_file", "username": "u", "token_file": "rel/tok"},
     "data_dispatcher.token_file", "absolute path"),
    ("metacat", {"method": "password", "username": "dunepro"}, "metacat.secret", "password"),
    ("metacat", {"method": "password", "secret": "x"}, "metacat.username", "service account"),
    ("metacat", {"method": "kerberos", "username": "u"}, "metacat.method", "Choose one of"),
])
def test_credential_errors(service, session, service_name, cred, field, fragment):
    data = full_data()
    data["credentials"][service_name] = cred
    with pytest.raises(InvalidInput) as err:
        service.create(data)
    assert fragment in " ".join(err.value.field_errors[field]), err.value.field_errors
    assert session.scalar(select(Experiment).where(Experiment.name == "dune2")) is None


def test_pasted_token_is_accepted_and_encrypted(service, box):
    data = full_data()
    data["credentials"]["data_dispatcher"] = {"method": "token_file", "username": "dunepro", "secret": "eyJ.tok.en"}
    exp = service.create(data)
    assert box.decrypt(exp.credential("data_dispatcher").secret_encrypted) == "eyJ.tok.en"


def test_service_without_url_needs_no_credentials(service):
    exp = service.create({"name": "tiny", "metacat_url": "http://127.0.0.1:1/mc",
                          "credentials": {"metacat": {"username": "poms", "secret": "pw"}}})
    assert exp.dd_url is None and exp.credential("data_dispatcher") is None


def test_duplicate_name_is_a_field_error(service):
    service.create(full_data())
    with pytest.raises(InvalidInput) as err:
        service.create(full_data())
    assert "already exists" in err.value.field_errors["name"][0]


def test_update_keeps_secret_when_empty_and_audits_without_it(service, session, box):
    exp = service.create(full_data())
    old_raw = exp.credential("metacat").secret_encrypted
    service.update("dune2", {"metacat_url": "https://metacat2.example.org/app",
                             "credentials": {"metacat": {"method": "password", "username": "dunepro", "secret": ""}}})
    assert exp.credential("metacat").secret_encrypted == old_raw
    assert exp.metacat_url == "https://metacat2.example.org/app"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "experiment.update")).one()
    assert event.before == {"metacat_url": "https://metacat.example.org:9443/dune_meta_prod/app"}
    assert event.after == {"metacat_url": "https://metacat2.example.org/app"}


def test_update_new_secret_is_audited_as_changed(service, session, box):
    service.create(full_data())
    exp = service.update("dune2", {"credentials": {"metacat": {"secret": "brand-new-pw"}}})
    assert box.decrypt(exp.credential("metacat").secret_encrypted) == "brand-new-pw"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "experiment.update")).one()
    assert event.before == {"metacat.secret": "set"} and event.after == {"metacat.secret": "set (new value)"}
    assert "brand-new-pw" not in json.dumps(event.after)


def test_clear_secret_and_method_change(service):
    data = full_data()
    data["credentials"]["data_dispatcher"] = {"method": "token_file", "username": "dunepro",
                                              "token_file": "/etc/poms/dd.token", "secret": "pasted"}
    exp = service.create(data)
    service.update("dune2", {"credentials": {"data_dispatcher": {"clear_secret": "y"}}})
    assert exp.credential("data_dispatcher").secret_encrypted is None
    # Clearing the only password of a password-method service is refused with a field error.
    with pytest.raises(InvalidInput) as err:
        service.update("dune2", {"credentials": {"metacat": {"clear_secret": True}}})
    assert "metacat.secret" in err.value.field_errors
    assert exp.credential("metacat").secret_encrypted is not None
    # Switching method drops a password that would otherwise be sent as a token.
    service.update("dune2", {"credentials": {"metacat": {"method": "x509", "cert_path": "/etc/poms/c.pem",
                                                         "key_path": "/etc/poms/k.pem"}}})
    assert exp.credential("metacat").secret_encrypted is None


def test_rename_refused_and_unknown_experiment(service):
    service.create(full_data())
    with pytest.raises(InvalidInput) as err:
        service.update("dune2", {"name": "dune3"})
    assert "renamed" in err.value.field_errors["name"][0]
    with pytest.raises(NotFound):
        service.update("nope", {})


def test_connection_decrypts_in_memory_and_creates_private_state_dir(service, settings):
    exp = service.create(full_data())
    conn = service.connections.connection(exp)
    assert conn.metacat.secret == SECRET and conn.metacat.username == "dunepro"
    assert SECRET not in repr(conn)
    assert conn.dd_auth_url == "https://dd.example.org/dune/dd/data/auth"      # the clients' default, explicit
    assert conn.metacat_auth_url == "https://metacat.example.org:8143/auth/dune"
    assert conn.rucio_account == "dunepro" and conn.role == "dune_production"
    assert conn.rucio.method == "x509" and conn.rucio.cert_path == "/etc/poms/cert.pem"
    assert conn.state_dir == settings_path(settings) / "experiments" / "dune2"
    assert stat.S_IMODE(conn.state_dir.stat().st_mode) == 0o700


def settings_path(settings):
    from pathlib import Path
    return Path(settings.instance_path)


def test_connection_with_wrong_key_says_so(service, session, settings):
    exp = service.create(full_data())
    other = ConnectionService(SecretBox(Fernet.generate_key()), settings.instance_path)
    with pytest.raises(ConfigurationError, match="another POMS_DD_ENCRYPTION_KEY"):
        other.connection(exp)


def test_describe_never_contains_the_secret(service, session, caplog):
    caplog.set_level(logging.DEBUG)
    exp = service.create(full_data())
    service.update("dune2", {"credentials": {"metacat": {"secret": SECRET + "2"}}})
    shown = json.dumps(service.describe(exp))
    assert "metacat.secret" in shown and SECRET not in shown
    assert SECRET not in caplog.text
    raw = session.scalars(select(ServiceCredential.secret_encrypted)).all()
    assert all(r is None or SECRET.encode() not in bytes(r) for r in raw)


# --- TLS and timeouts (ca_path, verify_tls, service_timeout, rucio_vo) ----------------------------------------

@pytest.fixture
def ca_bundle(tmp_path):
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")          # only its existence is checked on save
    return str(path)


def test_tls_settings_are_stored_audited_and_reach_the_connection(service, session, ca_bundle):
    exp = service.create(full_data(ca_path=ca_bundle, verify_tls=False, service_timeout="45", rucio_vo="dne"))
    assert (exp.ca_path, exp.verify_tls, exp.service_timeout, exp.rucio_vo) == (ca_bundle, False, 45, "dne")
    conn = service.connections.connection(exp)
    assert (conn.ca_path, conn.verify_tls, conn.rucio_vo) == (ca_bundle, False, "dne")
    assert conn.timeout == 45.0
    assert [conn.timeout_for(s) for s in ("metacat", "data_dispatcher", "rucio")] == [45.0, 45.0, 45.0]
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "experiment.create")).one()
    assert {k: event.after[k] for k in ("ca_path", "verify_tls", "service_timeout", "rucio_vo")} == \
        {"ca_path": ca_bundle, "verify_tls": False, "service_timeout": 45, "rucio_vo": "dne"}
    shown = service.describe(exp)
    assert shown["verify_tls"] is False and shown["ca_path"] == ca_bundle and shown["service_timeout"] == 45


def test_empty_tls_settings_leave_the_adapters_defaults(service, session, ca_bundle):
    exp = service.create(full_data())
    session.refresh(exp)
    assert (exp.ca_path, exp.verify_tls, exp.service_timeout, exp.rucio_vo) == (None, True, None, None)
    conn = service.connections.connection(exp)
    assert (conn.ca_path, conn.verify_tls, conn.timeout, conn.rucio_vo) == (None, True, 60.0, "def")
    service.update("dune2", {"ca_path": ca_bundle, "service_timeout": 5, "rucio_vo": "dne", "verify_tls": "false"})
    service.update("dune2", {"ca_path": "  ", "service_timeout": "", "rucio_vo": "", "verify_tls": None})
    conn = service.connections.connection(exp)
    assert (conn.ca_path, conn.verify_tls, conn.timeout, conn.rucio_vo) == (None, True, 60.0, "def")


def test_switching_verification_off_is_audited(service, session):
    service.create(full_data())
    service.update("dune2", {"verify_tls": False})
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "experiment.update")).one()
    assert (event.before, event.after) == ({"verify_tls": True}, {"verify_tls": False})


@pytest.mark.parametrize("overrides, field, fragment", [
    ({"ca_path": "certs/ca.pem"}, "ca_path", "absolute path"),
    ({"ca_path": "/nonexistent/grid-security/certificates"}, "ca_path", "does not exist on the poms_dd server"),
    ({"service_timeout": 0}, "service_timeout", "above 0"),
    ({"service_timeout": "-30"}, "service_timeout", "above 0"),
    ({"service_timeout": "a minute"}, "service_timeout", "whole number"),
    ({"rucio_vo": "dune"}, "rucio_vo", "3-character"),
    ({"rucio_vo": "d e"}, "rucio_vo", "3-character"),
    ({"verify_tls": "maybe"}, "verify_tls", "true or false"),
])
def test_tls_field_errors(service, session, overrides, field, fragment):
    with pytest.raises(InvalidInput) as err:
        service.create(full_data(**overrides))
    assert fragment in " ".join(err.value.field_errors[field]), err.value.field_errors
    assert session.scalar(select(Experiment).where(Experiment.name == "dune2")) is None


def test_the_database_refuses_a_non_positive_service_timeout(session):
    from sqlalchemy.exc import IntegrityError
    exp = make_experiment(session, "hypot")
    with pytest.raises(IntegrityError, match="ck_experiment_service_timeout"):
        with session.begin_nested():
            session.execute(text("UPDATE experiment SET service_timeout = 0 WHERE id = :id"), {"id": exp.id})


def test_the_token_library_identity_file_is_keyed_by_the_encryption_key(session, admin, settings, tmp_path):
    """The ``identity`` file next to each token library must not let anyone who reads it test password guesses
    offline: the same credential under another POMS_DD_ENCRYPTION_KEY gives another fingerprint."""
    import dataclasses
    files = []
    for n in range(2):
        own = dataclasses.replace(settings, encryption_key=Fernet.generate_key().decode(),
                                  instance_path=str(tmp_path / f"instance{n}"))
        service = OnboardingService(session, Actor.person(admin), ConnectionService.from_settings(own))
        data = {"metacat_url": "https://mc.example.org/app",
                "credentials": {"metacat": {"method": "password", "username": "svc", "secret": SECRET}}}
        if n == 0:
            exp = service.create({"name": "keyed", **data})
        else:
            exp = service.update("keyed", data)            # the same password entered again under the new key
        service.connections.adapters(exp).metacat
        files.append((tmp_path / f"instance{n}" / "experiments" / "keyed" / "metacat" / "identity").read_text())
    assert files[0] and files[1] and files[0] != files[1]
