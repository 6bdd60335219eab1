"""Onboarding an experiment (SPEC §7): its MetaCat / Data Dispatcher / Rucio settings and service credentials.

``OnboardingService(session, actor, connections)``.  Every use case checks permissions first
(``experiment.create`` / ``experiment.onboard``: global superusers only), commits its own transaction and
writes an audit event whose before/after never contain a secret (secrets appear as "set" / "not set").

Secrets are write-only: an empty secret on update keeps the stored one, ``clear_secret`` removes it, and a
change of method drops a secret that belonged to the old method.  They are decrypted only by the
:class:`~.connections.ConnectionService`, into the in-memory connection the adapters are built from.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...adapters import ServiceCheck, check_connection
from ...errors import ConfigurationError, InvalidInput
from ...models import Experiment, Service, ServiceCredential
from ...permissions import Actor
from .. import audit
from ..scope import Scope, experiment_named, no_experiment
from . import tokens
from .connections import ConnectionService
from .rules import (CREDENTIAL_FIELDS, EXPERIMENT_FIELDS, SERVICE_LABEL, SERVICE_URL, check_complete, check_name,
                    clean_credential, clean_experiment_fields)
from .tokens import TokenStatus

SERVICES = tuple(Service)

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

    def __init__(self, session: Session, actor: Actor, connections: ConnectionService):
        self.session = session
        self.actor = actor
        self.connections = connections
        self.scope = Scope(session, actor)

    def authorize(self, action: str, experiment_id: int | None = None) -> None:
        """Raises NotAuthenticated / PermissionDenied unless the actor may do ``action``."""
        self.scope.check(action, experiment_id)

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
        exp = experiment_named(self.session, name)
        if exp is None:
            raise no_experiment(name)
        return exp

    def describe(self, exp: Experiment) -> dict[str, Any]:
        """A JSON-ready, secret-free description (what `experiment show` and the JSON API print)."""
        data = snapshot(exp)
        data["created_at"] = exp.created_at.isoformat() if exp.created_at else None
        data["state_dir"] = str(self.connections.state_dir(exp))
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
        audit.record(self.session, self.actor, "experiment.create", "experiment", exp.id,
                     experiment_id=exp.id, before=None, after=_redacted(snapshot(exp), set()),
                     summary=f"onboarded experiment {exp.name}")
        self.session.commit()
        log.info("experiment %s onboarded by %s", exp.name, self.actor.name)
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
            audit.record(self.session, self.actor, "experiment.update", "experiment", exp.id,
                         experiment_id=exp.id, before=before, after=after,
                         summary=f"changed onboarding settings of {exp.name}")
        self.session.commit()
        log.info("experiment %s settings saved by %s", exp.name, self.actor.name)
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
            given = clean_credential(service, creds_in.get(service) or {}, errors, self.connections.token_root)
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
                cred.secret_encrypted = self.connections.crypto.encrypt(new_secret)
                replaced.add(service)
            elif not has_secret:
                cred.secret_encrypted = None
        return replaced

    # --- using --------------------------------------------------------------------------------------------

    def test_connection(self, name: str) -> list[ServiceCheck]:
        """Log in to each configured service and report version, identity, token expiry or the exact error.

        Raises PermissionDenied, NotFound.  Secrets stored under another key fail every service with that
        message (the page still opens, so an admin can enter the secrets again).
        """
        exp = self.get(name)
        try:
            conn = self.connections.connection(exp)
        except ConfigurationError as err:
            return [ServiceCheck(service=label, ok=False, error=err.message) for label in SERVICE_LABEL.values()]
        checks = check_connection(conn)          # fresh adapters: a test of the credentials, not of a held token
        self.connections.registry.forget(exp.name)   # the next use reads the tokens this test stored
        log.info("connection test of %s by %s: %s", exp.name, self.actor.name,
                 ", ".join(f"{c.service} {'OK' if c.ok else 'FAIL'}" for c in checks))
        return checks

    def token_status(self, name: str) -> list[TokenStatus]:
        """Per service: method, account, who the held token says we are and when it expires (no login).

        Raises PermissionDenied, NotFound.  Undecryptable secrets are reported per service, not raised.
        """
        exp = self.get(name)
        try:
            return tokens.token_status(self.connections.adapters(exp))
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
            statuses = tokens.refresh_tokens(self.connections.adapters(exp))
        except ConfigurationError as err:
            statuses = self._unusable(exp, err)
        failed = [s.service for s in statuses if s.error]
        audit.record(self.session, self.actor, "experiment.refresh_tokens", "experiment", exp.id,
                     experiment_id=exp.id, summary=f"refreshed service tokens of {exp.name}"
                     + (f"; failed: {', '.join(failed)}" if failed else ""))
        self.session.commit()
        return statuses


def _redacted(data: dict[str, Any], replaced: set[str]) -> dict[str, Any]:
    """Mark secrets that got a new value, so the audit trail shows a change of password (never the value)."""
    for service in replaced:
        data[f"{service}.secret"] = "set (new value)"
    return data
