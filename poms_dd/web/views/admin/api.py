"""JSON API for onboarding (same services as the /admin pages): /api/admin/experiments[...].

Bodies use the service's shape: experiment fields plus ``credentials: {metacat|data_dispatcher|rucio:
{method, username, secret, clear_secret, token_file, cert_path, key_path}}``.  Responses never contain a
secret (``"<service>.secret": "set" | "not set"``).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from ....adapters.config import ServiceCheck
from ....errors import InvalidInput
from ...auth import login_required
from ...guards import check_shape
from ...request import services

bp = Blueprint("admin_api", __name__, url_prefix="/api/admin/experiments")
ONBOARDING_INTS = {"default_worker_timeout": (0, 2**31 - 1), "default_idle_timeout": (0, 2**31 - 1),
                   "service_timeout": (1, 2**31 - 1)}


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("Send a JSON object (Content-Type: application/json).")
    check_shape(data, objects=("credentials",), ints=ONBOARDING_INTS)     # shapes the service cannot read
    return data


def check_json(check: ServiceCheck) -> dict[str, Any]:
    return {"service": check.service, "ok": check.ok, "url": check.url, "version": check.version,
            "identity": check.identity,
            "token_expires": check.token_expires.isoformat() if check.token_expires else None,
            "details": check.details, "error": check.error}


@bp.get("")
@login_required
def list_experiments():
    service = services().onboarding
    return jsonify([service.describe(e) for e in service.list_experiments()])


@bp.post("")
@login_required
def create_experiment():
    service = services().onboarding
    return jsonify(service.describe(service.create(_body()))), 201


@bp.get("/<name>")
@login_required
def show_experiment(name: str):
    service = services().onboarding
    return jsonify(service.describe(service.get(name)))


@bp.route("/<name>", methods=["PATCH", "PUT"])
@login_required
def update_experiment(name: str):
    service = services().onboarding
    return jsonify(service.describe(service.update(name, _body())))


@bp.post("/<name>/test-connection")
@login_required
def test_connection(name: str):
    checks = services().onboarding.test_connection(name)
    return jsonify({"ok": all(c.ok for c in checks), "checks": [check_json(c) for c in checks]})


@bp.get("/<name>/tokens")
@login_required
def token_status(name: str):
    return jsonify([t.as_json() for t in services().onboarding.token_status(name)])


@bp.post("/<name>/tokens/refresh")
@login_required
def refresh_tokens(name: str):
    return jsonify([t.as_json() for t in services().onboarding.refresh_tokens(name)])


# --- members ---------------------------------------------------------------------------------------------

def _member_json(m) -> dict[str, Any]:
    return {"username": m.user.username, "full_name": m.user.full_name, "role": m.role}


@bp.get("/<name>/members")
@login_required
def members(name: str):
    users = services().users
    return jsonify([_member_json(m) for m in users.members_of(users.get_experiment(name))])


@bp.post("/<name>/members")
@login_required
def add_member(name: str):
    body, users = _body(), services().users
    exp = users.get_experiment(name)              # permission first: do not reveal which usernames exist
    m = users.add_member(users.get_user(str(body.get("username", ""))), exp, str(body.get("role", "")))
    return jsonify(_member_json(m)), 201


@bp.patch("/<name>/members/<username>")
@login_required
def change_role(name: str, username: str):
    body, users = _body(), services().users
    m = users.change_role(users.get_user(username), users.get_experiment(name),
                          str(body.get("role", "")))
    return jsonify(_member_json(m))


@bp.delete("/<name>/members/<username>")
@login_required
def remove_member(name: str, username: str):
    users = services().users
    users.remove_member(users.get_user(username), users.get_experiment(name))
    return "", 204
