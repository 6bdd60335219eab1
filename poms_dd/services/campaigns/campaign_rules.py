"""Field-level rules for campaigns (SPEC §2.1, §3): ``validate_campaign`` → ``{field: [message, ...]}``,
``clean_campaign`` → the typed values of the ``Campaign`` model."""
from __future__ import annotations

from typing import Any, Mapping

from ...models import CampaignState, DataHandlingService
from ...models import values as values_of
from .keywords import validate_keywords, validate_tags
from .values import LABELS, check_int, check_text, shown, to_bool, to_int, to_text

CAMPAIGN_INTS = {"dd_worker_timeout": 0, "dd_idle_timeout": 0, "dd_load_limit": 1}
CAMPAIGN_FIELDS = ("name", "data_handling_service", "keywords", "tags", "state", "dd_virtual") + tuple(CAMPAIGN_INTS)
DEFAULTS = {"data_handling_service": DataHandlingService.SAM, "state": CampaignState.ACTIVE}


def validate_campaign(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Field messages for a campaign's values (absent keys count as blank)."""
    errors: dict[str, list[str]] = {}
    name = check_text(errors, values, "name", "The campaign name", 200)
    if not name and "name" not in errors:
        errors.setdefault("name", []).append("A campaign needs a name.")
    service = check_text(errors, values, "data_handling_service", "The data handling service", 100)
    if "data_handling_service" not in errors and (service or DataHandlingService.SAM) not in \
            values_of(DataHandlingService):
        errors.setdefault("data_handling_service", []).append(
            f"Must be {' or '.join(values_of(DataHandlingService))}, got {shown(values.get('data_handling_service'))}.")
    state = check_text(errors, values, "state", "The state", 100)
    if "state" not in errors and (state or CampaignState.ACTIVE) not in values_of(CampaignState):
        errors.setdefault("state", []).append(f"Must be {' or '.join(values_of(CampaignState))}, got {shown(state)}.")
    for field, minimum in CAMPAIGN_INTS.items():
        check_int(errors, values, field, minimum, LABELS[field])
    try:
        to_bool(values.get("dd_virtual"))
    except (TypeError, ValueError):
        errors.setdefault("dd_virtual", []).append(f"Must be true or false, got {shown(values.get('dd_virtual'))}.")
    kw_errors = validate_keywords(values.get("keywords") or {})
    if kw_errors:
        errors["keywords"] = kw_errors
    tag_errors = validate_tags(values.get("tags") or [])
    if tag_errors:
        errors["tags"] = tag_errors
    return errors


def clean_campaign(values: Mapping[str, Any]) -> dict[str, Any]:
    """Typed model values for the campaign fields present in ``values`` (validate first)."""
    out: dict[str, Any] = {}
    for name in CAMPAIGN_FIELDS:
        if name not in values:
            continue
        v = values[name]
        if name in CAMPAIGN_INTS:
            out[name] = to_int(v)
        elif name == "dd_virtual":
            out[name] = bool(to_bool(v))
        elif name == "keywords":
            out[name] = {str(k): str(val) for k, val in (v or {}).items()}
        elif name == "tags":
            out[name] = [t.strip() for t in (v or [])]
        else:
            out[name] = to_text(v) or DEFAULTS.get(name)
    return out
