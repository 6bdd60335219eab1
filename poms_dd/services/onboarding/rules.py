"""Field rules for onboarding an experiment (SPEC §7): normalising and validating the submitted values.

Kept apart from the use cases in ``onboarding.py``.  Every rule produces a field-level message keyed by the
field name (``metacat_url``) or ``<service>.<field>`` for a credential (``rucio.cert_path``), so forms,
the JSON API and the CLI can show it next to what the person typed.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from ...models import AuthMethod, Service, values
from ..campaigns.values import INT32_MAX, shown
from .inputs import clean_secret, file_outside_problem, url_credentials_problem

AUTH_METHODS = values(AuthMethod)

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
NAME_RULE = ("a lower-case letter followed by up to 63 lower-case letters, digits, '-' or '_' "
             "(it names the experiment everywhere, including its private folder on disk)")

URL_FIELDS = ("metacat_url", "metacat_auth_url", "metacat_gui_url", "dd_url", "dd_auth_url", "dd_gui_url",
              "rucio_host", "rucio_auth_host")
TEXT_FIELDS = ("description", "rucio_account", "service_role", "default_namespace")
TIMEOUT_FIELDS = ("default_worker_timeout", "default_idle_timeout")
BOOL_FIELDS = ("active",)
# How the adapters reach the services (poms_dd/adapters/README.md, "Production servers").
TLS_FIELDS = ("ca_path", "verify_tls", "service_timeout", "rucio_vo")
EXPERIMENT_FIELDS = URL_FIELDS + TEXT_FIELDS + TIMEOUT_FIELDS + BOOL_FIELDS + TLS_FIELDS
RUCIO_VO_RE = re.compile(r"^[a-zA-Z0-9_.-]{3}$")          # Rucio's own VO schema (generic_multi_vo.VO)
VERIFY_TLS_OFF_WARNING = ("TLS verification is off: poms_dd accepts any server certificate and sends the service "
                          "passwords and tokens to whoever answers. Only for test servers with self-made "
                          "certificates; never for production.")
CREDENTIAL_FIELDS = ("method", "username", "token_file", "cert_path", "key_path")
PATH_FIELDS = ("token_file", "cert_path", "key_path")

# The URL that says a service is in use; its credentials are only required then.
SERVICE_URL = {"metacat": "metacat_url", "data_dispatcher": "dd_url", "rucio": "rucio_host"}
SERVICE_LABEL = {s.value: s.label for s in Service}
LABELS = {
    "metacat_url": "MetaCat server URL", "metacat_auth_url": "MetaCat auth URL", "metacat_gui_url": "MetaCat GUI URL",
    "dd_url": "Data Dispatcher server URL", "dd_auth_url": "Data Dispatcher auth URL",
    "dd_gui_url": "Data Dispatcher GUI URL", "rucio_host": "Rucio host", "rucio_auth_host": "Rucio auth host",
}


def clean_text(value: Any) -> str | None:
    """Strip a text value; empty → None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def clean_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def check_name(name: Any) -> list[str]:
    if not isinstance(name, str) or not NAME_RE.match(name):
        return [f"The experiment name must be {NAME_RULE}."]
    return []


def check_url(field: str, value: str | None) -> list[str]:
    if value is None:
        return []
    problem = url_credentials_problem(LABELS[field], value)
    if problem:
        return [problem]                      # before any message that would repeat the URL
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [f"{LABELS[field]} must be an http:// or https:// URL with a host "
                f"(like https://metacat.fnal.gov:9443/dune_meta_prod/app), not {value!r}."]
    if any(c.isspace() for c in value):
        return [f"{LABELS[field]} must not contain spaces."]
    return []


def clean_timeout(field: str, value: Any, errors: dict[str, list[str]]) -> int | None:
    """An integer number of seconds ≥ 0, or None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(str(value).strip()) if not isinstance(value, int) or isinstance(value, bool) else value
    except ValueError:
        errors.setdefault(field, []).append(f"Enter a whole number of seconds (0 or more), not {shown(value)}.")
        return None
    if number < 0:
        errors.setdefault(field, []).append("A timeout cannot be negative (use 0 or leave it empty for none).")
        return None
    if number > INT32_MAX:
        errors.setdefault(field, []).append(f"At most {INT32_MAX} seconds (about 68 years), not {number}.")
        return None
    return number


def clean_service_timeout(value: Any, errors: dict[str, list[str]]) -> int | None:
    """Seconds per request to MetaCat / DD / Rucio: a whole number > 0, or None (the adapters' 60 s)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(str(value).strip()) if not isinstance(value, int) or isinstance(value, bool) else value
    except ValueError:
        number = None
    if number is None or not 0 < number <= INT32_MAX:
        errors.setdefault("service_timeout", []).append(
            f"Enter the seconds each request to MetaCat, Data Dispatcher and Rucio may take, a whole number "
            f"above 0 and at most {INT32_MAX} (like 60), not {shown(value)}; leave it empty for the default of 60 s.")
        return None
    return number


def clean_ca_path(value: Any, errors: dict[str, list[str]]) -> str | None:
    """An absolute path to a CA bundle file or hashed CA directory that exists on this (the poms_dd) server."""
    path = clean_text(value)
    if path is None:
        return None
    if not os.path.isabs(path):
        errors.setdefault("ca_path", []).append(
            f"Give an absolute path on the poms_dd server (starting with /), not {path!r}.")
    elif not (os.path.isfile(path) or os.path.isdir(path)):
        errors.setdefault("ca_path", []).append(
            f"{path} does not exist on the poms_dd server (or poms_dd cannot see it). Give a CA bundle file "
            "(PEM) or a hashed CA directory such as /etc/grid-security/certificates, or leave it empty to use "
            "$X509_CERT_DIR, then $REQUESTS_CA_BUNDLE, then the certifi bundle.")
    return path


def clean_verify_tls(value: Any, errors: dict[str, list[str]]) -> bool:
    """A security switch: only an explicit false turns verification off; empty/None means the default (on)."""
    if value is None or isinstance(value, bool):
        return True if value is None else value
    text = str(value).strip().lower()
    if text in ("", "1", "true", "yes", "on", "y"):
        return True
    if text in ("0", "false", "no", "off", "n"):
        return False
    errors.setdefault("verify_tls", []).append(f"Give true or false, not {value!r}.")
    return True


def clean_rucio_vo(value: Any, errors: dict[str, list[str]]) -> str | None:
    vo = clean_text(value)
    if vo is not None and not RUCIO_VO_RE.match(vo):
        errors.setdefault("rucio_vo", []).append(
            f"A Rucio VO is the 3-character tag of a multi-VO Rucio server (letters, digits, '_', '-', '.'; "
            f"like 'def'), not {vo!r}; leave it empty for 'def'.")
    return vo


def clean_experiment_fields(data: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    """The experiment columns present in ``data``, normalised; problems go to ``errors``."""
    out: dict[str, Any] = {}
    for field in EXPERIMENT_FIELDS:
        if field not in data:
            continue
        raw = data[field]
        if field in URL_FIELDS:
            value = clean_text(raw)
            if value is not None:
                value = value.rstrip("/")      # one spelling: the clients' token libraries key on the exact URL
            for msg in check_url(field, value):
                errors.setdefault(field, []).append(msg)
            out[field] = value
        elif field in TIMEOUT_FIELDS:
            out[field] = clean_timeout(field, raw, errors)
        elif field == "service_timeout":
            out[field] = clean_service_timeout(raw, errors)
        elif field == "ca_path":
            out[field] = clean_ca_path(raw, errors)
        elif field == "rucio_vo":
            out[field] = clean_rucio_vo(raw, errors)
        elif field == "verify_tls":
            out[field] = clean_verify_tls(raw, errors)
        elif field in BOOL_FIELDS:
            out[field] = clean_bool(raw)
        elif field == "description":
            out[field] = (str(raw).strip() if raw is not None else "")
        else:
            out[field] = clean_text(raw)
    return out


def clean_credential(service: str, data: Mapping[str, Any], errors: dict[str, list[str]],
                     token_root: Path | None = None) -> dict[str, Any]:
    """One service's credential fields present in ``data``, normalised (secret and clear flag kept apart).

    Credential files must lie in ``token_root`` (None: anywhere); secrets follow ``inputs.clean_secret``.
    """
    out: dict[str, Any] = {}
    for field in CREDENTIAL_FIELDS:
        if field in data:
            out[field] = clean_text(data[field])
    if "method" in out and out["method"] is not None and out["method"] not in AUTH_METHODS:
        errors.setdefault(f"{service}.method", []).append(
            f"Choose one of {', '.join(AUTH_METHODS)}, not {out['method']!r}.")
    for field in PATH_FIELDS:
        path = out.get(field)
        if path is None:
            continue
        if not os.path.isabs(path):
            errors.setdefault(f"{service}.{field}", []).append(
                f"Give an absolute path on the poms_dd server (starting with /), not {path!r}.")
        elif problem := file_outside_problem(SERVICE_LABEL[service], field, path, token_root):
            errors.setdefault(f"{service}.{field}", []).append(problem)
    secret_errors: list[str] = []
    out["secret"] = clean_secret(f"{SERVICE_LABEL[service]} password or pasted token", data.get("secret"),
                                 secret_errors)
    if secret_errors:
        errors.setdefault(f"{service}.secret", []).extend(secret_errors)
    out["clear_secret"] = clean_bool(data.get("clear_secret", False))
    return out


def check_complete(service: str, cred: Mapping[str, Any], has_secret: bool, in_use: bool,
                   errors: dict[str, list[str]]) -> None:
    """Rules on the resulting credential of a service that is in use (its URL is set)."""
    if not in_use:
        return
    label = SERVICE_LABEL[service]
    method = cred.get("method") or "password"
    needs_user = service != "rucio" or method == "password"
    if needs_user and not cred.get("username"):
        errors.setdefault(f"{service}.username", []).append(
            f"Give the account poms_dd signs in to {label} as (the service account).")
    if method == "password" and not has_secret and f"{service}.secret" not in errors:
        errors.setdefault(f"{service}.secret", []).append(
            f"The password method needs the {label} password of the service account.")
    if method == "token_file" and not (cred.get("token_file") or has_secret):
        errors.setdefault(f"{service}.token_file", []).append(
            f"The token method needs the path of a bearer-token file on the poms_dd server, "
            f"or the token contents pasted in the secret field.")
    if method == "x509":
        for field, what in (("cert_path", "certificate"), ("key_path", "private key")):
            if not cred.get(field):
                errors.setdefault(f"{service}.{field}", []).append(
                    f"The x509 method needs the path of the {what} file (PEM) on the poms_dd server.")
