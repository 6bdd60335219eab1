"""An experiment's secrets never leave the adapters inside a message (adapters/redaction.py, errors.py)."""
from __future__ import annotations

import pytest

from poms_dd.adapters import (Credential, DataDispatcherAdapter, MetaCatAdapter, RucioAdapter, Secrets,
                              check_connection, redact, secrets_of)
from poms_dd.errors import ExternalServiceError

from adapter_helpers import make_conn

PASSWORD = " S3cr3t-Pw9\n"          # pasted with a leading space and a trailing newline


def _all_text(exc: BaseException) -> str:
    out, link = [], exc
    while link is not None:
        out += [str(link), repr(link)]
        link = link.__cause__ or link.__context__
    return " ".join(out)


def test_a_rucio_password_with_whitespace_is_not_echoed_by_the_header_error(testbed, tmp_path, no_faults):
    cred = Credential(method="password", username="poms", secret=PASSWORD)
    rucio = RucioAdapter(make_conn(testbed, tmp_path, rucio=cred))
    with pytest.raises(ExternalServiceError) as err:
        rucio.whoami()
    assert "in header value: '[redacted]'" in err.value.message, err.value.message
    text = _all_text(err.value)                       # the message, and what it is chained from (logged)
    assert "S3cr3t" not in text and "Pw9" not in text


def test_test_connection_never_shows_a_password(testbed, tmp_path, no_faults):
    cred = Credential(method="password", username="poms", secret=PASSWORD)
    checks = check_connection(make_conn(testbed, tmp_path, metacat=cred, data_dispatcher=cred, rucio=cred))
    assert [c.ok for c in checks] == [False, False, False]
    assert all("S3cr3t" not in c.error for c in checks), [c.error for c in checks]


def test_every_form_of_a_secret_is_redacted():
    secrets = Secrets([PASSWORD, "tok\ten'two\"", None, "", "   "])
    for form in (PASSWORD, PASSWORD.strip(), repr(PASSWORD)[1:-1], " S3cr3t-Pw9\\n", "S3cr3t-Pw9",
                 "tok\\ten'two\\\"", "tok\\ten\\'two\"", "tok en'two\"", "tok%09en%27two%22",
                 repr(PASSWORD.encode())[2:-1]):
        assert secrets.redact(f"value: {form} end") == "value: [redacted] end", form
    assert secrets.redact("nothing secret here") == "nothing secret here"
    assert redact("pw=S3cr3t-Pw9", ["S3cr3t-Pw9"]) == "pw=[redacted]"


def test_short_secrets_are_redacted_as_whole_words_only():
    secrets = Secrets(["ab1"])
    assert secrets.redact("password 'ab1' refused; tab1e stays") == "password '[redacted]' refused; tab1e stays"


def test_all_secrets_of_the_experiment_and_the_tokens_held(testbed, tmp_path, no_faults):
    conn = make_conn(testbed, tmp_path, rucio=Credential(method="password", username="poms", secret="poms"),
                     metacat=Credential(method="password", username="poms", secret="poms"),
                     data_dispatcher=Credential(method="password", username="poms", secret="poms"))
    assert secrets_of(conn).found_in("poms")
    mc, dd, rucio = MetaCatAdapter(conn), DataDispatcherAdapter(conn), RucioAdapter(conn)
    mc.login(force=True)
    dd.login(force=True)
    rucio.whoami()
    assert mc.secrets.found_in(mc.client.Token.encode()) and dd.secrets.found_in(dd.client.Token.encode())
    assert rucio.secrets.found_in(rucio.client.auth_token)


def test_only_the_variable_parts_of_a_message_are_redacted():
    """A password that is also a word of our own text ("poms") does not garble the text around it."""
    import requests
    from metacat.common.exceptions import WebAPIError

    from poms_dd.adapters.errors import translate
    response = requests.Response()
    response.status_code, response._content = 401, b"token of poms expired"
    response.headers["content-type"] = "text/plain"
    error = translate("Data Dispatcher", "list RSEs", "http://dd.example/poms/data",
                      WebAPIError("http://dd.example/poms/data/rses", response), identity="poms",
                      secrets=Secrets(["poms"]))
    assert error.detail.startswith("Data Dispatcher does not accept poms_dd's login for user '[redacted]' "
                                   "(HTTP 401: token of [redacted] expired)")


def test_rucio_clients_debug_log_of_the_request_headers_has_no_password(testbed, tmp_path, no_faults):
    import logging
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())
    log = logging.getLogger("rucio.client.baseclient")
    handler, level = Collect(), log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)                # e.g. forceloglevelDEBUG in a rucio.cfg, or an operator debugging
    try:
        cred = Credential(method="password", username="poms", secret="Xq7-S3cr3t-Pw9")
        with pytest.raises(ExternalServiceError):
            RucioAdapter(make_conn(testbed, tmp_path, rucio=cred)).whoami()
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    assert any("X-Rucio-Password: [redacted]" in r for r in records), records
    assert not any("S3cr3t" in r for r in records)
