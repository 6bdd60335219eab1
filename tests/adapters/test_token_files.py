"""Bearer-token files are settings a person types in and the server reads: they must not become a way to
read other server files through "Test connection" (adapters/token_files.py)."""
from __future__ import annotations

import os

import pytest

from poms_dd.adapters import Credential, DataDispatcherAdapter, MetaCatAdapter, RucioAdapter, check_connection
from poms_dd.errors import ConfigurationError, PomsDDError
from poms_dd.testbed import tokens as testbed_tokens

from adapter_helpers import make_conn

SHADOW = ("root:$6$Qx9salt$8fJm3hashOFrootPASSWORDxyz:19700:0:99999:7:::\n"
          "daemon:*:19700:0:99999:7:::\nalice:$6$aliceSALT$aliceHASHvalue:19700:0:99999:7:::\n")


def _pieces(text: str) -> list[str]:
    """Parts of the file a message must not show, not even as a prefix."""
    return ["root:$6$", "Qx9salt", "daemon:*", "aliceHASH", "19700:0:99999"]


def _all_text(exc: BaseException) -> str:
    out, link = [], exc
    while link is not None:
        out += [str(link), repr(link)]
        link = link.__cause__ or link.__context__
    return " ".join(out)


@pytest.fixture
def root(tmp_path):
    top = tmp_path / "tokens"
    top.mkdir()
    return top


def _token_conn(tb, tmp_path, path, token_root=None, **cred):
    c = Credential(method="token_file", username=cred.get("username", "bob"), token_file=str(path))
    return make_conn(tb, tmp_path / "state", metacat=c, data_dispatcher=c, rucio=c, rucio_account="bob",
                     token_root=token_root)


def test_a_server_file_used_as_token_file_never_shows_its_content(testbed, tmp_path, no_faults):
    """No token_root (backwards compatible): the file may be read, but its content is redacted everywhere."""
    secret_file = tmp_path / "shadow"
    secret_file.write_text(SHADOW)
    os.chmod(secret_file, 0o600)
    conn = _token_conn(testbed, tmp_path, secret_file)
    checks = check_connection(conn)
    assert [c.ok for c in checks] == [False, False, False]
    for check in checks:
        for piece in _pieces(SHADOW):
            assert piece not in check.error, (check.service, check.error)
    for adapter in (MetaCatAdapter(conn), DataDispatcherAdapter(conn), RucioAdapter(conn)):
        with pytest.raises(PomsDDError) as err:
            adapter.login(force=True)
        for piece in _pieces(SHADOW):
            assert piece not in _all_text(err.value), (adapter, _all_text(err.value))


def test_a_file_outside_the_token_root_is_refused_before_it_is_read(testbed, tmp_path, root, no_faults):
    outside = tmp_path / "env"
    outside.write_text("POMS_DD_SECRET_KEY=abcdef0123456789\n")
    conn = _token_conn(testbed, tmp_path, outside, token_root=root)
    with pytest.raises(ConfigurationError) as err:
        DataDispatcherAdapter(conn).login()
    assert str(outside) in err.value.message and f"not under the allowed token directory {root}" in err.value.message
    assert "abcdef" not in err.value.message and "POMS_DD" not in err.value.message
    check = check_connection(conn)[2]
    assert not check.ok and "not under the allowed token directory" in check.error


def test_a_symlink_out_of_the_token_root_is_refused(testbed, tmp_path, root, no_faults):
    target = tmp_path / "elsewhere"
    target.write_text("x" * 20)
    link = root / "bt"
    link.symlink_to(target)
    with pytest.raises(ConfigurationError, match=r"resolves to .*elsewhere, which is not under the allowed token"):
        MetaCatAdapter(_token_conn(testbed, tmp_path, link, token_root=root)).login()


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "too big", "group-writable", "world-writable"])
def test_unusable_token_files_are_configuration_errors_naming_path_and_rule(testbed, tmp_path, root, kind, no_faults):
    path = root / "bt"
    token_root = root
    rule = {"directory": "it is a directory", "fifo": "it is not a regular file",
            "device": "it is not a regular file", "too big": "it is larger than 64 KiB",
            "group-writable": "writable by group or others", "world-writable": "writable by group or others"}[kind]
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)                       # opening it must not hang the login
    elif kind == "device":
        path, token_root = "/dev/zero", None
    elif kind == "too big":
        path.write_text("A" * (64 * 1024 + 1))
    else:
        path.write_text("token-text-that-must-not-show")
        os.chmod(path, 0o620 if kind == "group-writable" else 0o602)
    with pytest.raises(ConfigurationError) as err:
        DataDispatcherAdapter(_token_conn(testbed, tmp_path, path, token_root=token_root)).login()
    assert str(path) in err.value.message and rule in err.value.message
    assert "token-text" not in err.value.message and "AAAA" not in err.value.message


def test_a_good_token_file_under_the_root_logs_in_and_is_reread(testbed, tmp_path, root, no_faults):
    real = root / "bob"
    real.write_text(testbed_tokens.mint(testbed.store, "bob") + "\n")
    os.chmod(real, 0o600)
    link = root / "current"                   # a symlink inside the root is fine (htgettoken-style rotation)
    link.symlink_to(real)
    conn = _token_conn(testbed, tmp_path, link, token_root=root)
    dd = DataDispatcherAdapter(conn)
    assert dd.login(force=True).username == "bob"
    assert dd.secrets.found_in(real.read_text().strip())          # the token read is redacted from now on
    assert MetaCatAdapter(conn).login(force=True).username == "bob"
