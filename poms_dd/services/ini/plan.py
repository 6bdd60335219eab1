"""Turn campaign INI text into a validated import plan (no database): every problem is collected.

A plan says what the campaign, its stages, dependencies and launch templates should look like.  Problems
are ``(where, message)`` pairs, ``where`` being ``"[section] key"``; the caller raises them all at once.

Launch templates: POMS splits "how to launch" into a ``[login_setup L]`` (host, account, setup) and a
``[job_type J]`` (launch_script); poms_dd's LaunchTemplate holds both.  A stage with ``login_setup=L`` and
``job_type=J`` uses the launch template named ``L`` when ``L == J`` (what poms_dd exports) and ``J@L``
otherwise.
"""
from __future__ import annotations

from typing import Any

from ..campaigns.campaign_rules import clean_campaign, validate_campaign
from . import schema as S
from .format import Entry, Problem, Section, read, where
from .model import CampaignPlan
from .stages import add_dependencies, add_stages

class _Builder:
    def __init__(self, text: str, experiment: str | None):
        self.experiment = experiment
        self.sections, self.problems = read(text)
        self.plan = CampaignPlan()

    def problem(self, loc: str, message: str) -> None:
        self.problems.append(Problem(loc, message))

    def convert(self, section: Section, key: S.Key, entry: Entry) -> Any:
        """``key.read(entry.value)``, or None after recording the problem."""
        try:
            return key.read(entry.value)
        except ValueError as err:
            self.problem(where(section.kind, section.name, entry.key), f"line {entry.line}: {err}")
            return None

    # -- sections ---------------------------------------------------------------------------------------
    def by_kind(self) -> dict[str, list[Section]]:
        kinds: dict[str, list[Section]] = {k: [] for k in S.SECTION_KINDS}
        for sec in self.sections:
            if sec.kind in S.IGNORED_SECTION_KINDS:
                self.plan.warnings.append(f"{sec.header}: POMS display setting, not used by poms_dd; ignored.")
            elif sec.kind not in kinds:
                self.problem(sec.header, f"line {sec.line}: unknown section kind {sec.kind!r}; expected one of "
                             + ", ".join(f"[{k}]" for k in S.SECTION_KINDS) + ".")
            elif sec.kind in ("campaign", "campaign_defaults") and sec.name:
                self.problem(sec.header, f"line {sec.line}: [{sec.kind}] takes no name; write [{sec.kind}].")
            elif sec.kind not in ("campaign", "campaign_defaults") and not sec.name:
                self.problem(sec.header, f"line {sec.line}: name the {sec.kind}, e.g. [{sec.kind} reco].")
            else:
                kinds[sec.kind].append(sec)
        return kinds

    def unknown(self, sec: Section, key: str, known: list[str]) -> None:
        self.problem(where(sec.kind, sec.name, key),
                     f"line {sec.entries[key].line}: unknown key; [{sec.kind}] keys are: {', '.join(known)}.")

    def campaign(self, sec: Section | None) -> tuple[list[str] | None, str | None]:
        """Read [campaign]; returns (campaign_stage_list or None, poms_role or None)."""
        if sec is None:
            self.problem("[campaign]", "the file has no [campaign] section; it must name the campaign.")
            return None, None
        keys = {k.ini: k for k in S.CAMPAIGN_KEYS}
        raw: dict[str, Any] = {k.field: None for k in S.CAMPAIGN_KEYS}
        for key, entry in sec.entries.items():
            if key in keys:
                raw[keys[key].field] = self.convert(sec, keys[key], entry)
            elif key not in S.CAMPAIGN_SPECIAL:
                self.unknown(sec, key, list(keys) + list(S.CAMPAIGN_SPECIAL))
        errors = validate_campaign(raw)
        for fld, messages in errors.items():
            key = S.CAMPAIGN_FIELD_TO_KEY.get(fld, fld)
            line = f"line {sec.entries[key].line}: " if key in sec.entries else ""
            for message in messages:
                self.problem(where("campaign", "", key), line + message)
        self.plan.values = {"name": (raw["name"] or "").strip()}
        if not errors:
            self.plan.values = clean_campaign(raw)
        else:   # still check the stages against the service and keywords when those two are fine
            usable = [f for f in ("data_handling_service", "keywords") if f not in errors
                      and not (raw[f] is None and S.CAMPAIGN_FIELD_TO_KEY[f] in sec.entries)]
            self.plan.values |= clean_campaign({f: raw[f] for f in usable})
        exp = sec.entries.get("experiment")
        if exp and self.experiment and exp.value != self.experiment:
            self.problem("[campaign] experiment", f"the file is for experiment {exp.value!r} but you are importing "
                         f"into {self.experiment!r}; correct or remove the line.")
        role = sec.entries.get("poms_role")
        default_role = None
        if role and role.value:
            default_role = role.value.strip().lower()
            if default_role not in ("analysis", "production"):
                self.problem("[campaign] poms_role", f"line {role.line}: {role.value!r} is not analysis or "
                             "production.")
                default_role = None
        listed = sec.entries.get("campaign_stage_list")
        names = None if listed is None else [n.strip() for n in listed.value.split(",") if n.strip()]
        return names, default_role

    def raw_templates(self, kinds: dict[str, list[Section]]) -> tuple[dict, dict]:
        parts: dict[str, dict[str, dict[str, Any]]] = {"login_setup": {}, "job_type": {}}
        tables = {"login_setup": (S.LOGIN_SETUP_KEYS, ()), "job_type": (S.JOB_TYPE_KEYS, S.IGNORED_JOB_TYPE_KEYS)}
        for kind, (table, ignored) in tables.items():
            keys = {k.ini: k for k in table}
            for sec in kinds[kind]:
                values: dict[str, Any] = {k.field: None for k in table}
                for key, entry in sec.entries.items():
                    if key in keys:
                        values[keys[key].field] = self.convert(sec, keys[key], entry)
                    elif key in ignored:
                        self.plan.warnings.append(f"{where(sec.kind, sec.name, key)}: POMS setting not used by "
                                                  "poms_dd; ignored.")
                    else:
                        self.unknown(sec, key, list(keys) + list(ignored))
                parts[kind][sec.name] = values
        for name, ls in parts["login_setup"].items():
            ls["setup"] = ls["setup"] or ""
            if ls["executor"] is None:
                ls["executor"] = "ssh" if ls["launch_host"] else "local"
            elif ls["executor"] == "ssh" and not ls["launch_host"]:
                self.problem(where("login_setup", name, "host"), "executor=ssh needs the launch host, e.g. "
                             "host=hypotgpvm01.fnal.gov (or use executor=local).")
        return parts["login_setup"], parts["job_type"]


def build_plan(text: str, experiment: str | None = None) -> tuple[CampaignPlan, list[Problem]]:
    """Parse and check INI text.  Returns the plan and every problem found (empty list: importable).

    Database facts (existing names, permissions) are checked by the importer, not here.
    """
    b = _Builder(text, experiment)
    kinds = b.by_kind()
    names, default_role = b.campaign(kinds["campaign"][0] if kinds["campaign"] else None)
    logins, jobs = b.raw_templates(kinds)
    defaults = kinds["campaign_defaults"][0] if kinds["campaign_defaults"] else None
    add_stages(b, kinds["campaign_stage"], defaults, default_role, logins, jobs, names)
    add_dependencies(b, kinds["dependencies"])
    return b.plan, b.problems
