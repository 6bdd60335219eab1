"""Stages and dependencies of a campaign INI file (part of :func:`ini_plan.build_plan`).

Stage values are checked by the shared rules (``stage_rules.validate_stage``), the same ones the stage
form uses; this module only maps INI keys to fields and reports each message at the key it came from (the
stage's own section or ``[campaign_defaults]``).
"""
from __future__ import annotations

import re
from typing import Any

from ...models import DataHandlingService
from ...models import values as values_of
from ..campaigns.campaigns import validate_stage_all
from ..campaigns.stage_rules import clean_stage
from . import schema as S
from .format import Section, where
from .model import MAX_TEMPLATE_NAME, StagePlan, TemplatePlan, template_name

_DEP_KEY = re.compile(r"^(campaign_stage|file_pattern)_(\d+)$")
_KEYS = {k.ini: k for k in S.STAGE_KEYS}
_KNOWN = list(_KEYS) + list(S.STAGE_ALIASES) + list(S.IGNORED_STAGE_KEYS)


def _entries(b, sec: Section) -> dict[str, tuple[str, Section, int]]:
    """The stage keys of one section: ini key → (text, section, line)."""
    out: dict[str, tuple[str, Section, int]] = {}
    for key, entry in sec.entries.items():
        name = S.STAGE_ALIASES.get(key, key)
        if name in _KEYS:
            if name in out:
                b.problem(where(sec.kind, sec.name, key), f"line {entry.line}: {key} and {name} are the same "
                          "setting; give only one.")
            out[name] = (entry.value, sec, entry.line)
        elif key in S.IGNORED_STAGE_KEYS:
            b.plan.warnings.append(f"{where(sec.kind, sec.name, key)}: POMS setting not used by poms_dd; ignored.")
        else:
            b.problem(where(sec.kind, sec.name, key),
                      f"line {entry.line}: unknown key; [{sec.kind}] keys are: {', '.join(_KNOWN)}.")
    return out


def add_stages(b, sections: list[Section], defaults: Section | None, default_role: str | None,
               logins: dict[str, dict[str, Any]], jobs: dict[str, dict[str, Any]], names: list[str] | None) -> None:
    """Add a StagePlan per [campaign_stage NAME] section, in campaign_stage_list order when given."""
    base = _entries(b, defaults) if defaults is not None else {}
    service = b.plan.values.get("data_handling_service")
    keywords = b.plan.values.get("keywords")
    by_name = {sec.name: sec for sec in sections}
    listed = dict.fromkeys(names or [])           # sets and dicts throughout: linear in the file's size
    order = [n for n in listed if n in by_name] + [s.name for s in sections if s.name not in listed]
    for name in order:
        sec = by_name[name]
        if "," in name:
            b.problem(sec.header, f"line {sec.line}: stage names cannot contain ',' (campaign_stage_list is "
                      "comma-separated).")
        merged = base | _entries(b, sec)
        raw: dict[str, Any] = {k.field: "" for k in S.STAGE_KEYS} | {"name": name}
        origin: dict[str, tuple[Section, str, int]] = {}
        bad = False
        for ini_key, (value, src, line) in merged.items():
            key = _KEYS[ini_key]
            origin[key.field] = (src, ini_key, line)
            try:
                raw[key.field] = key.read(value)
            except ValueError as err:
                b.problem(where(src.kind, src.name, ini_key), f"line {line}: {err}")
                bad = True
        if "vo_role" not in merged:
            raw["role"] = default_role or "analysis"
        job, login = str(raw.pop("job_type")).strip(), str(raw.pop("login_setup")).strip()
        if "output_file_patterns" not in merged and job in jobs and jobs[job].get("output_file_patterns"):
            raw["output_file_patterns"] = jobs[job]["output_file_patterns"]
        extra = {f: raw.pop(f) or [] for f in S.JSON_STAGE_FIELDS}

        def loc(fld: str) -> tuple[str, str]:
            if fld in origin:
                src, ini_key, line = origin[fld]
                return where(src.kind, src.name, ini_key), f"line {line}: "
            key = S.STAGE_FIELD_TO_KEY.get(fld)
            return (where(sec.kind, sec.name, key) if key else sec.header), ""

        errors = validate_stage_all(raw, service, keywords) if service in values_of(DataHandlingService) else {}
        for fld, messages in errors.items():
            label, prefix = loc(fld)
            for message in messages:
                b.problem(label, prefix + message)
        template = _template(b, sec, job, login, logins, jobs, loc)
        values = clean_stage(raw) | extra if not errors and not bad and service in values_of(DataHandlingService) else {}
        b.plan.stages.append(StagePlan(name, values, template))
    _check_list(b, names, [s.name for s in sections])
    _warn_unused(b, logins, jobs)


def _warn_unused(b, logins: dict[str, dict[str, Any]], jobs: dict[str, dict[str, Any]]) -> None:
    """A warning for each [login_setup]/[job_type] section no stage uses."""
    used: set[str] = set()        # template names and their job@login halves, split at each '@'
    for t in b.plan.templates:
        used.add(t)
        used.update(part for i, c in enumerate(t) if c == "@" for part in (t[:i], t[i + 1:]))
    for kind, table in (("login_setup", logins), ("job_type", jobs)):
        for name in table:
            if name not in used:
                b.plan.warnings.append(f"[{kind} {name}]: not used by any stage; ignored.")


def _template(b, sec: Section, job: str, login: str, logins: dict, jobs: dict, loc) -> str | None:
    """The launch template name a stage uses (recording it in the plan), or None."""
    if not job and not login:
        return None
    if not (job and login):
        missing = "login_setup" if job else "job_type"
        b.problem(where(sec.kind, sec.name, missing), f"give both job_type and login_setup, or neither: poms_dd "
                  "launches with the login setup (host, account, setup) and the job type (launch_script) together.")
        return None
    name = template_name(login, job)
    if len(name) > MAX_TEMPLATE_NAME:
        b.problem(loc("job_type")[0], f"the launch template name {name!r} is longer than {MAX_TEMPLATE_NAME} "
                  "characters; use shorter login_setup/job_type names.")
        return None
    if login in logins and job in jobs:
        values = {k: v for k, v in logins[login].items()} | {"command_template": jobs[job]["command_template"] or ""}
        b.plan.templates[name] = TemplatePlan(name, values)
    elif login not in logins and job not in jobs:
        b.plan.templates.setdefault(name, TemplatePlan(name, {}, defined=False, ref=loc("job_type")[0]))
    else:
        kind, missing = ("login_setup", login) if login not in logins else ("job_type", job)
        b.problem(loc(kind)[0], f"the file has no [{kind} {missing}] section (define it, or define neither "
                  "section to use an existing launch template of the experiment).")
        return None
    return name


MAX_LISTED = 20        # names listed per kind of campaign_stage_list problem; the rest are counted


def _check_list(b, names: list[str] | None, sections: list[str]) -> None:
    if names is None:
        return
    label = "[campaign] campaign_stage_list"
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    in_file = set(sections)
    kinds = (([n for n in sorted(seen) if seen[n] > 1], "lists stage {!r} more than once."),
             ([n for n in names if n not in in_file], "lists stage {!r} but the file has no [campaign_stage {}] "
                                                      "section."),
             ([n for n in sections if n not in seen], "does not list stage {!r} although [campaign_stage {}] is "
                                                      "in the file; add it or remove the section."))
    for found, message in kinds:
        for n in found[:MAX_LISTED]:
            b.problem(label, message.format(n, n))
        if len(found) > MAX_LISTED:
            b.problem(label, f"... and {len(found) - MAX_LISTED} more stage(s) like these.")


def add_dependencies(b, sections: list[Section]) -> None:
    """Read [dependencies CONSUMER] sections (campaign_stage_N = PROVIDER, file_pattern_N = pattern).

    PROVIDER is a stage of this file, or ``CAMPAIGN/STAGE`` for a stage of another campaign of the
    experiment (resolved by the importer)."""
    names = [s.name for s in b.plan.stages]
    plans = {s.name: s for s in b.plan.stages}
    for sec in sections:
        consumer = plans.get(sec.name)
        if consumer is None:
            b.problem(sec.header, f"line {sec.line}: no [campaign_stage {sec.name}] in the file; a [dependencies "
                      "NAME] section is named after the stage that waits for the others.")
            continue
        pairs: dict[int, dict[str, Any]] = {}
        for key, entry in sec.entries.items():
            m = _DEP_KEY.match(key)
            if not m:
                b.problem(where(sec.kind, sec.name, key), f"line {entry.line}: unknown key; use campaign_stage_1, "
                          "file_pattern_1, campaign_stage_2, ...")
                continue
            pairs.setdefault(int(m.group(2)), {})[m.group(1)] = entry
        for n in sorted(pairs):
            provider, pattern = pairs[n].get("campaign_stage"), pairs[n].get("file_pattern")
            label = where(sec.kind, sec.name, f"campaign_stage_{n}")
            if provider is None:
                b.problem(where(sec.kind, sec.name, f"file_pattern_{n}"), f"has no campaign_stage_{n} naming "
                          "the stage whose files it selects.")
            elif provider.value not in plans and "/" not in provider.value:
                b.problem(label, f"line {provider.line}: no stage {provider.value!r} in this file; the stages are: "
                          f"{', '.join(names[:MAX_LISTED]) or 'none'}{' ...' if len(names) > MAX_LISTED else ''} "
                          "(a stage of another campaign is written CAMPAIGN/STAGE).")
            elif provider.value == sec.name:
                b.problem(label, f"line {provider.line}: a stage cannot depend on itself.")
            elif any(p == provider.value for p, _, _ in consumer.dependencies):
                b.problem(label, f"line {provider.line}: {provider.value!r} is listed twice.")
            elif pattern is not None and len(pattern.value) > 500:
                b.problem(where(sec.kind, sec.name, f"file_pattern_{n}"), "is longer than 500 characters.")
            else:
                consumer.dependencies.append((provider.value, (pattern.value if pattern else "") or "%", label))
    _check_cycles(b)


def _check_cycles(b) -> None:
    """Report each dependency that closes a cycle (stage A needs B needs ... needs A)."""
    needs = {s.name: s.dependencies for s in b.plan.stages}
    state: dict[str, int] = {}          # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for provider, _, label in needs.get(name, []):
            if state.get(provider) == 1:
                cycle = path[path.index(provider):] + [provider]
                b.problem(label, "dependency cycle: " + " needs ".join(cycle) + "; a stage cannot wait, "
                          "directly or indirectly, for its own output.")
            elif provider not in state:
                visit(provider)
        path.pop()
        state[name] = 2

    for name in needs:
        if name not in state:
            visit(name)
