"""Bearer-token files (``Credential.token_file``): read safely, and never shown.

A token file is a setting an administrator types in, read by the server process, so it must not become a
way to read other server files (``/etc/shadow``, the app's env file) through "Test connection".  Before its
content is read the file must:

* lie under ``ExperimentConnection.token_root`` once every symlink is resolved (``None``: anywhere, kept for
  backwards compatibility; the onboarding service passes a configured directory);
* be a regular file (not a directory, FIFO, socket or device);
* be at most ``MAX_TOKEN_BYTES`` (64 KiB);
* not be writable by group or others (anyone else could swap the service identity).

A file breaking a rule is a ``ConfigurationError`` naming the path and the rule; a missing or unreadable file
(a renewer such as htgettoken may not have written it yet) is ``TokenRejected``.  No message ever contains any
part of the file's content, and every token read is added to the experiment's ``Secrets``.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from .config import Credential
from .errors import TokenRejected
from .redaction import Secrets

if TYPE_CHECKING:
    from .config import ExperimentConnection

MAX_TOKEN_BYTES = 64 * 1024


def _refuse(path: str, rule: str) -> ConfigurationError:
    return ConfigurationError(f"The bearer token file {path} cannot be used: {rule}; fix the token file setting "
                              "of the experiment.")


def _resolved_under_root(path: str, root: Path | None) -> str:
    """The real path of ``path`` (symlinks resolved), refused unless it lies under ``root``."""
    if root is None:
        return path
    real, top = os.path.realpath(path), os.path.realpath(root)
    if os.path.commonpath([real, top]) != top:
        where = "it" if real == os.path.abspath(path) else f"it resolves to {real}, which"
        raise _refuse(path, f"{where} is not under the allowed token directory {top}")
    return real


def read_token_file(path: str, root: Path | None = None) -> str:
    """The stripped text of the token file ``path``, after the checks in the module docstring.

    Raises ConfigurationError (a rule broken) or TokenRejected (missing, unreadable, empty).
    """
    target = _resolved_under_root(str(path), root)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | (os.O_NOFOLLOW if root is not None else 0)
    try:
        fd = os.open(target, flags)      # O_NONBLOCK: a FIFO must not hang the login
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse(path, "it was replaced by a symbolic link while being opened") from None
        raise TokenRejected(f"cannot read token file {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise _refuse(path, f"it is {kind}")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise _refuse(path, f"it is writable by group or others (mode {info.st_mode & 0o777:o}; "
                                f"run chmod go-w {path})")
        if info.st_size > MAX_TOKEN_BYTES:
            raise _refuse(path, f"it is larger than {MAX_TOKEN_BYTES // 1024} KiB")
        data = os.read(fd, MAX_TOKEN_BYTES + 1)
    except OSError as exc:
        raise TokenRejected(f"cannot read token file {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_TOKEN_BYTES:
        raise _refuse(path, f"it is larger than {MAX_TOKEN_BYTES // 1024} KiB")
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise _refuse(path, "it is not a text token (non-ASCII bytes)") from None
    if not text:
        raise TokenRejected(f"token file {path} is empty")
    return text


def read_bearer_token(credential: Credential, root: Path | None = None, secrets: Secrets | None = None) -> str:
    """The bearer token text: ``Credential.secret`` if set, else the contents of ``token_file`` (re-read on
    every login, so an externally refreshed file is picked up), checked by ``read_token_file`` under ``root``.
    The token is added to ``secrets``.  Raises TokenRejected if there is none, ConfigurationError for a file
    that may not be used."""
    if credential.secret:
        token = credential.secret.strip()
    elif not credential.token_file:
        raise TokenRejected("no token and no token file configured")
    else:
        token = read_token_file(credential.token_file, root)
    if secrets is not None:
        secrets.add(token)
    return token


def secrets_of(conn: "ExperimentConnection") -> Secrets:
    """Every secret of the experiment: its credentials' passwords/token secrets and the contents of its
    (usable) token files.  Files that break a rule are not read, so their content cannot leak either."""
    credentials = (conn.metacat, conn.data_dispatcher, conn.rucio)
    secrets = Secrets(c.secret for c in credentials)
    for cred in credentials:
        if cred.token_file and not cred.secret:
            try:
                secrets.add(read_token_file(cred.token_file, conn.token_root))
            except (ConfigurationError, TokenRejected):
                pass
    return secrets
