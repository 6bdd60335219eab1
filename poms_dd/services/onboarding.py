"""Onboarding an experiment (SPEC §7): its MetaCat / Data Dispatcher / Rucio settings and service credentials.

``OnboardingService(session, actor, crypto, instance_path)``; ``actor`` is the signed-in User (or the CLI
operator).  Every use case checks permissions first (``experiment.create`` / ``experiment.onboard``: global
superusers only), commits its own transaction and writes an audit event whose before/after never contain a
secret (secrets appear as "set" / "not set").

Secrets are write-only: an empty secret on update keeps the stored one, ``clear_secret`` removes it, and a
change of method drops a secret that belonged to the old method.  They are decrypted only in
:meth:`connection`, into the in-memory ``ExperimentConnection`` the adapters are built from.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import permissions
from ..adapters.config import Credential, ExperimentConnection, ServiceCheck
from ..crypto import SecretBox
from ..errors import ConfigurationError, InvalidInput, NotFound
from ..models import SERVICES, Experiment, ServiceCredential
from . import audit, onboarding_tokens
from .onboarding_tokens import TokenStatus
from .users import Actor, SystemActor
from .onboarding_rules import (CREDENTIAL_FIELDS, EXPERIMENT_FIELDS, SERVICE_LABEL, SERVICE_URL, check_complete,
                               check_name, clean_credential, clean_experiment_fields)

log = logging.getLogger(__name__)


def snapshot(exp: Experiment) -> dict[str, Any]:
    """The experiment's settings as the audit trail and the pages show them: secrets only as set / not set."""
    data: dict[str, Any] = {"name": exp.name}
    for field in EXPERIMENT_FIELDS:
        data[field] = getattr(exp, field)
    for service in SERVICES:
        cred = exp.credential(service)
        for field in CREDENTIAL_FIELDS:
            data[f"{service}.{field}"] = getattr(cred, field) if cred is not None else None
        data[f"{service}.secret"] = "set" if cred is not None and cred.secret_encrypted else "not set"
    return data


class OnboardingService:
    """Create, change, inspect and test an experiment's onboarding settings."""

    def __init__(self, session: Session, actor: Actor, crypto: SecretBox, instance_path: str | os.PathLike):
        self.session = session
        self.actor = actor
        self.crypto = crypto
        self.instance_path = Path(instance_path)

    @property
    def actor_name(self) -> str:
        if isinstance(self.actor, SystemActor):
            return self.actor.name
        return self.actor.username if self.actor is not None else "anonymous"

    def authorize(self, action: str, experiment_id: int | None = None) -> None:
        """permissions.check for a signed-in user; the CLI operator (SystemActor) may do everything."""
        if not isinstance(self.actor, SystemActor):
            permissions.check(self.actor, action, experiment_id)

    # --- reading ------------------------------------------------------------------------------------------

    def list_experiments(self) -> list[Experiment]:
        """Every experiment, by name.  Raises NotAuthenticated / PermissionDenied unless a global superuser."""
        self.authorize("experiment.onboard")
        return list(self.session.scalars(select(Experiment).order_by(Experiment.name)))

    def get(self, name: str) -> Experiment:
        """The experiment for onboarding pages.  Raises PermissionDenied (not an admin), NotFound."""
        self.authorize("experiment.onboard")
        return self._find(name)

    def _find(self, name: str) -> Experiment:
        exp = self.session.scalar(select(Experiment).where(Experiment.name == name))
        if exp is None:
            raise NotFound(f"No experiment named {name!r}.")
        return exp

    def describe(self, exp: Experiment) -> dict[str, Any]:
        """A JSON-ready, secret-free description (what `experiment show` and the JSON API print)."""
        data = snapshot(exp)
        data["created_at"] = exp.created_at.isoformat() if exp.created_at else None
        data["state_dir"] = str(self.state_dir(exp))
        return data

    # --- changing -----------------------------------------------------------------------------------------

    def create(self, data: Mapping[str, Any]) -> Experiment:
        """Create an experiment from ``data`` (experiment fields plus ``credentials: {service: {...}}``).

        Raises PermissionDenied (not a global superuser), InvalidInput with field errors (bad or missing
        values, name taken).
        """
        self.authorize("experiment.create")
        name = (data.get("name") or "").strip() if isinstance(data.get("name"), str) else data.get("name")
        errors: dict[str, list[str]] = {}
        for msg in check_name(name):
            errors.setdefault("name", []).append(msg)
        if not errors and self.session.scalar(select(Experiment.id).where(Experiment.name == name)) is not None:
            errors["name"] = [f"An experiment named {name!r} already exists; open it to change its settings."]
        exp = Experiment(name=name or "", description="", active=True)
        self._apply(exp, data, errors)
        self.session.add(exp)
        self.session.flush()
        audit.record(self.session, self.actor_name, "experiment.create", "experiment", exp.id,
                     experiment_id=exp.id, before=None, after=_redacted(snapshot(exp), set()),
                     summary=f"onboarded experiment {exp.name}")
        self.session.commit()
        log.info("experiment %s onboarded by %s", exp.name, self.actor_name)
        return exp

    def update(self, name: str, data: Mapping[str, Any]) -> Experiment:
        """Change the fields present in ``data`` (absent fields keep their values; the name cannot change).

        Raises PermissionDenied, NotFound, InvalidInput with field errors.
        """
        self.authorize("experiment.onboard")
        exp = self._find(name)
        before = snapshot(exp)
        errors: dict[str, list[str]] = {}
        if data.get("name") not in (None, "", exp.name):
            errors["name"] = ["An experiment cannot be renamed (its name keys its projects and files)."]
        replaced = self._apply(exp, data, errors)
        after = _redacted(snapshot(exp), replaced)
        if after != before:
            audit.record(self.session, self.actor_name, "experiment.update", "experiment", exp.id,
                         experiment_id=exp.id, before=before, after=after,
                         summary=f"changed onboarding settings of {exp.name}")
        self.session.commit()
        log.info("experiment %s settings saved by %s", exp.name, self.actor_name)
        return exp

    def _apply(self, exp: Experiment, data: Mapping[str, Any], errors: dict[str, list[str]]) -> set[str]:
        """Validate everything, then write; return the services whose secret got a new value.

        Raises InvalidInput (nothing written) on any problem.
        """
        fields = clean_experiment_fields(data, errors)
        creds_in = data.get("credentials") or {}
        unknown = sorted(set(creds_in) - set(SERVICES))
        if unknown:
            errors.setdefault("credentials", []).append(
                f"Unknown service(s) {', '.join(unknown)}; use {', '.join(SERVICES)}.")
        merged = {f: fields.get(f, getattr(exp, f, None)) for f in EXPERIMENT_FIELDS}
        plans = {}
        for service in SERVICES:
            cred = exp.credential(service)
            given = clean_credential(service, creds_in.get(service) or {}, errors)
            result = {f: given[f] if f in given else (getattr(cred, f) if cred else None) for f in CREDENTIAL_FIELDS}
            result["method"] = result["method"] or "password"
            keep_old = (cred is not None and cred.secret_encrypted is not None and not given["clear_secret"]
                        and result["method"] == cred.method)
            has_secret = given["secret"] is not None or keep_old
            check_complete(service, result, has_secret, bool(merged.get(SERVICE_URL[service])), errors)
            plans[service] = (cred, result, given["secret"], has_secret)
        if merged.get("rucio_host") and not merged.get("rucio_account"):
            errors.setdefault("rucio_account", []).append(
                "Give the Rucio account poms_dd acts as (it must be able to read the experiment's replicas).")
        if errors:
            raise InvalidInput("Some settings need fixing: " + "; ".join(
                f"{k}: {' '.join(v)}" for k, v in sorted(errors.items())), field_errors=errors)
        for field, value in fields.items():
            setattr(exp, field, value)
        replaced = set()
        for service, (cred, result, new_secret, has_secret) in plans.items():
            if cred is None and not any(result[f] for f in CREDENTIAL_FIELDS if f != "method") and not new_secret:
                continue                                  # nothing configured for this service
            if cred is None:
                cred = ServiceCredential(service=service)
                exp.credentials.append(cred)
            for field in CREDENTIAL_FIELDS:
                setattr(cred, field, result[field])
            if new_secret is not None:
                cred.secret_encrypted = self.crypto.encrypt(new_secret)
                replaced.add(service)
            elif not has_secret:
                cred.secret_encrypted = None
        return replaced

    # --- using --------------------------------------------------------------------------------------------

    def state_dir(self, exp: Experiment) -> Path:
        """``<instance_path>/experiments/<name>``: the experiment's private token folder (not created here)."""
        return self.instance_path / "experiments" / exp.name

    def _ensure_state_dir(self, exp: Experiment) -> Path:
        path = self.state_dir(exp)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
        return path

    def connection(self, exp: Experiment) -> ExperimentConnection:
        """The adapters' view of the experiment, secrets decrypted in memory.

        Creates the state folder (mode 0700).  Raises ConfigurationError if the secrets were encrypted with
        another key.  No permission check: callers (launch, tracking, test_connection) have done theirs.
        """
        creds = {}
        for service in SERVICES:
            row = exp.credential(service)
            if row is None:
                creds[service] = Credential()
                continue
            secret = self.crypto.decrypt(row.secret_encrypted) if row.secret_encrypted else None
            creds[service] = Credential(method=row.method, username=row.username, secret=secret,
                                        token_file=row.token_file, cert_path=row.cert_path, key_path=row.key_path)
        return ExperimentConnection(
            experiment=exp.name, state_dir=self._ensure_state_dir(exp),
            metacat_url=exp.metacat_url,
            metacat_auth_url=exp.metacat_auth_url or _auth_default(exp.metacat_url),
            metacat_gui_url=exp.metacat_gui_url,
            dd_url=exp.dd_url, dd_auth_url=exp.dd_auth_url or _auth_default(exp.dd_url), dd_gui_url=exp.dd_gui_url,
            rucio_host=exp.rucio_host, rucio_auth_host=exp.rucio_auth_host or exp.rucio_host,
            rucio_account=exp.rucio_account, role=exp.service_role, default_namespace=exp.default_namespace,
            metacat=creds["metacat"], data_dispatcher=creds["data_dispatcher"], rucio=creds["rucio"],
            **tls_settings(exp))

    def test_connection(self, name: str) -> list[ServiceCheck]:
        """Log in to each configured service and report version, identity, token expiry or the exact error.

        Raises PermissionDenied, NotFound.  Secrets stored under another key fail every service with that
        message (the page still opens, so an admin can enter the secrets again).
        """
        from ..adapters.health import check_connection
        exp = self.get(name)
        try:
            conn = self.connection(exp)
        except ConfigurationError as err:
            return [ServiceCheck(service=label, ok=False, error=err.message) for label in SERVICE_LABEL.values()]
        checks = check_connection(conn)
        log.info("connection test of %s by %s: %s", exp.name, self.actor_name,
                 ", ".join(f"{c.service} {'OK' if c.ok else 'FAIL'}" for c in checks))
        return checks

    def token_status(self, name: str) -> list[TokenStatus]:
        """Per service: method, account, who the held token says we are and when it expires (no login).

        Raises PermissionDenied, NotFound.  Undecryptable secrets are reported per service, not raised.
        """
        exp = self.get(name)
        try:
            return onboarding_tokens.token_status(self.connection(exp))
        except ConfigurationError as err:
            return self._unusable(exp, err)

    def _unusable(self, exp: Experiment, err: ConfigurationError) -> list[TokenStatus]:
        rows = [(SERVICE_LABEL[s], exp.credential(s)) for s in SERVICES]
        return [TokenStatus(label, cred.method if cred else None, cred.username if cred else None, error=err.message)
                for label, cred in rows]

    def refresh_tokens(self, name: str) -> list[TokenStatus]:
        """Log in to every configured service now; audited (who refreshed, which services failed)."""
        exp = self.get(name)
        try:
            statuses = onboarding_tokens.refresh_tokens(self.connection(exp))
        except ConfigurationError as err:
            statuses = self._unusable(exp, err)
        failed = [s.service for s in statuses if s.error]
        audit.record(self.session, self.actor_name, "experiment.refresh_tokens", "experiment", exp.id,
                     experiment_id=exp.id, summary=f"refreshed service tokens of {exp.name}"
                     + (f"; failed: {', '.join(failed)}" if failed else ""))
        self.session.commit()
        return statuses


def tls_settings(exp: Experiment) -> dict[str, Any]:
    """The experiment's TLS, timeout and Rucio VO settings as ExperimentConnection arguments; an empty
    setting is left out, so the adapters' default applies (README.md there)."""
    out: dict[str, Any] = {"verify_tls": exp.verify_tls is not False, "ca_path": exp.ca_path or None}
    if exp.service_timeout:
        out["timeout"] = float(exp.service_timeout)
    if exp.rucio_vo:
        out["rucio_vo"] = exp.rucio_vo
    return out


def _redacted(data: dict[str, Any], replaced: set[str]) -> dict[str, Any]:
    """Mark secrets that got a new value, so the audit trail shows a change of password (never the value)."""
    for service in replaced:
        data[f"{service}.secret"] = "set (new value)"
    return data


def _auth_default(server_url: str | None) -> str | None:
    """The clients' own default (server_url + "/auth"), made explicit so no $..._AUTH_URL variable leaks in."""
    return server_url + "/auth" if server_url else None
