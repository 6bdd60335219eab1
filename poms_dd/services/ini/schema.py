"""What each key of a campaign INI file means: its model attribute, how its text is read and written.

POMS keys keep their POMS names (``vo_role``, ``cs_split_type``, ``dataset_or_split_data``, ``job_type``,
``login_setup`` ...).  poms_dd's additional settings use the model's own names (``dd_worker_timeout``,
``test_cs_split_type``, ``hold`` ...).  POMS keys that poms_dd has no use for are accepted and ignored with a
warning (``IGNORED_*``), so files written for POMS import unchanged.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

# --- readers: INI text → the value handed to the shared rules (services/stage_rules.py) ----------------------
# Range and choice checks are NOT done here: stage_rules.validate_stage / validate_campaign do them, for the
# web forms and for INI files alike.  These only undo POMS spellings and parse JSON.


def text(s: str) -> str:
    return s


def lower(s: str) -> str:
    """POMS writes vo_role=Production, state=Active."""
    return s.strip().lower()


def split_type(s: str) -> str:
    """POMS writes ``None`` for "no split type"."""
    return "" if s.strip() in ("None", "none") else s


def number(s: str) -> str:
    """POMS writes completion_pct=100.0."""
    t = s.strip()
    return t[:-2] if t.endswith(".0") and t[:-2].isdigit() else t


def _json(s: str) -> Any:
    try:
        value = json.loads(s)
        if isinstance(value, str):          # POMS sometimes writes param_overrides="[]"
            value = json.loads(value)
    except json.JSONDecodeError as err:
        raise ValueError(f"is not valid JSON ({err.msg} at character {err.pos + 1}).") from None
    return value


def json_list(s: str) -> list[Any]:
    if not s.strip():
        return []
    value = _json(s)
    if not isinstance(value, list):
        raise ValueError('must be a JSON list, e.g. [["--stage=", "reco"]] or [].')
    return value


def keywords(s: str) -> dict[str, Any]:
    if not s.strip():
        return {}
    value = _json(s)
    if not isinstance(value, dict):
        raise ValueError('must be a JSON object, e.g. {"release": "v1_2"}.')
    return value


def tags(s: str) -> list[str]:
    out: list[str] = []
    for tag in (t.strip() for t in s.split(",")):
        if tag and tag not in out:
            out.append(tag)
    return out


def choice(*allowed: str) -> Callable[[str], str]:
    """For keys no shared rule covers (launch template executor)."""
    def convert(s: str) -> str:
        if s.strip().lower() not in allowed:
            raise ValueError(f"{s!r} is not one of: {', '.join(allowed)}.")
        return s.strip().lower()
    return convert


def opt_text(s: str) -> str | None:
    return s or None


# --- formatters: value → text ---------------------------------------------------------------------------

def fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def fmt_tags(value: list[str]) -> str:
    return ",".join(value or [])


def fmt_role(value: str) -> str:
    return value.capitalize()


# --- the key tables ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    """One INI key: ``field`` is the model attribute it sets."""

    ini: str
    field: str
    read: Callable[[str], Any] = text
    write: Callable[[Any], str] = fmt


CAMPAIGN_KEYS: tuple[Key, ...] = (
    Key("name", "name"),
    Key("state", "state", lower, lambda v: v.capitalize()),
    Key("data_handling_service", "data_handling_service", lower),
    Key("campaign_keywords", "keywords", keywords),
    Key("campaign_tags", "tags", tags, fmt_tags),
    Key("dd_worker_timeout", "dd_worker_timeout"),
    Key("dd_idle_timeout", "dd_idle_timeout"),
    Key("dd_virtual", "dd_virtual"),
    Key("dd_load_limit", "dd_load_limit"),
)
# experiment (checked against the target), campaign_stage_list (checked against the sections) and poms_role
# (the default vo_role of the stages) are handled by the plan builder.
CAMPAIGN_SPECIAL = ("experiment", "campaign_stage_list", "poms_role")

STAGE_KEYS: tuple[Key, ...] = (
    Key("vo_role", "role", lower, fmt_role),
    Key("software_version", "software_version"),
    Key("dataset_or_split_data", "sam_dataset"),
    Key("data_dispatcher_dataset_query", "data_dispatcher_dataset_query"),
    Key("data_dispatcher_project_id", "data_dispatcher_project_id"),
    Key("cs_split_type", "split_type", split_type),
    Key("test_cs_split_type", "test_split_type", split_type),
    Key("completion_type", "completion_type", lower),
    Key("completion_pct", "completion_pct", number),
    Key("param_overrides", "param_overrides", json_list),
    Key("test_param_overrides", "test_param_overrides", json_list),
    Key("job_type", "job_type"),            # with login_setup: the stage's launch template
    Key("login_setup", "login_setup"),
    Key("job_config", "job_config"),
    Key("output_file_patterns", "output_file_patterns"),     # default: the job type's, else %
    Key("output_ancestor_depth", "output_ancestor_depth", number),
    Key("dd_worker_timeout", "dd_worker_timeout", number),
    Key("dd_idle_timeout", "dd_idle_timeout", number),
    Key("dd_virtual", "dd_virtual"),
    Key("dd_load_limit", "dd_load_limit", number),
    Key("auto_recovery", "auto_recovery", lower),
    Key("hold", "hold"),
    Key("cron_schedule", "cron_schedule"),
)
STAGE_ALIASES = {"dataset": "dataset_or_split_data"}     # older POMS files
IGNORED_STAGE_KEYS = ("merge_overrides", "stage_type", "default_clear_cronjob")
JSON_STAGE_FIELDS = ("param_overrides", "test_param_overrides")
TEMPLATE_STAGE_FIELDS = ("job_type", "login_setup")

LOGIN_SETUP_KEYS: tuple[Key, ...] = (
    Key("host", "launch_host", opt_text),
    Key("account", "launch_account", opt_text),
    Key("setup", "setup"),
    Key("executor", "executor", choice("local", "ssh")),   # default: ssh if a host is given
)
JOB_TYPE_KEYS: tuple[Key, ...] = (
    Key("launch_script", "command_template"),
    Key("output_file_patterns", "output_file_patterns", opt_text),
)
IGNORED_JOB_TYPE_KEYS = ("parameters", "recoveries")

SECTION_KINDS = ("campaign", "campaign_defaults", "campaign_stage", "dependencies", "login_setup", "job_type")
IGNORED_SECTION_KINDS = ("node_positions",)
STAGE_FIELD_TO_KEY = {k.field: k.ini for k in STAGE_KEYS} | {"launch_template_id": "job_type"}
CAMPAIGN_FIELD_TO_KEY = {k.field: k.ini for k in CAMPAIGN_KEYS}
