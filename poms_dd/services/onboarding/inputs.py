"""Input rules for what an administrator types that ends up in a request to a service (Hardening #2, #3, #7).

* Secrets (passwords, pasted tokens): a trailing line break (what pasting from a file or a terminal adds) is
  stripped; any other surrounding whitespace, and any control character (a line break inside), is refused
  with a field message.  A leading space is more likely a slip of the hand than part of a password, and a
  password that starts or ends with a space cannot travel in a Rucio header anyway, so poms_dd asks instead of
  guessing.  The messages never repeat the secret.
* URLs: a user name or password inside a URL (``https://user:pass@host``) is refused without repeating it;
  credentials belong in the credential fields, where they are encrypted and never shown.
* Credential files (token file, x509 certificate and key): only inside the token directory
  (``POMS_DD_TOKEN_DIR``), checked on the resolved path (symlinks followed), so a connection test cannot be
  pointed at an arbitrary file of the poms_dd server.
"""
from __future__ import annotations

import os
from pathlib import Path

FILE_LABELS = {"token_file": "token file path", "cert_path": "x509 certificate path", "key_path": "x509 key path"}


def clean_secret(label: str, value: object, errors: list[str]) -> str | None:
    """The secret to store (None: none given); problems are appended to ``errors``.

    ``label`` names the field as the form shows it, e.g. "Rucio password or pasted token".
    """
    if not isinstance(value, str) or not value.strip():
        return None
    secret = value.rstrip("\r\n")
    if secret != secret.strip():
        errors.append(f"The {label} starts or ends with a space or tab. Passwords with surrounding spaces are "
                      "refused because they are almost always a copy-and-paste slip: enter it without them.")
    elif any(ord(c) < 32 or ord(c) == 127 for c in secret):
        errors.append(f"The {label} contains a line break or another control character; enter it on one "
                      "line (a single line break at the end is removed).")
    else:
        return secret
    return None


def url_credentials_problem(label: str, value: str) -> str | None:
    """A message if the URL carries a user name or password (the URL itself is not repeated)."""
    authority = value.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in authority:
        return (f"{label} must not contain a user name or password (the user:password@ part); give the service "
                "account and its password in the credential fields, where they are stored encrypted.")
    return None


def inside(path: str, root: Path) -> bool:
    """Whether ``path`` resolves (symlinks followed) to a file below ``root`` (itself resolved)."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real != base and os.path.commonpath([real, base]) == base


def file_outside_problem(service_label: str, field: str, path: str, root: Path | None) -> str | None:
    """A message if the credential file ``path`` lies outside the token directory ``root``."""
    if root is None or inside(path, root):
        return None
    return (f"The {service_label} {FILE_LABELS[field]} must lie in poms_dd's token directory {root} "
            f"(POMS_DD_TOKEN_DIR); {path} is outside it (symlinks are followed). Put the file there, readable "
            "only by poms_dd (mode 0600), and give its path.")
