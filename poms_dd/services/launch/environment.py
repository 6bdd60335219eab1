"""The environment of a launch command (SPEC §2.5) and the ``{placeholders}`` of its template.

:func:`launch_environment` returns exactly these variables (every value a string):

================================== ==============================================================
variable                           value
================================== ==============================================================
POMS_DATA_DISPATCHER_TASK_ID       the DD submission record's id (always)
POMS_DATA_DISPATCHER_PROJECT_ID    the DD project id; ``""`` for parameter launches
POMS_DATA_DISPATCHER_DATASET_QUERY the MQL that defined the files (always)
POMS_DATA_DISPATCHER_PARAMETER     the parameter of a parameter launch; ``""`` otherwise
POMS_DATA_DISPATCHER_PROJECT_VIRTUAL ``true`` or ``false`` (lower case, as shell tests expect)
POMS_DATA_DISPATCHER_LOAD_LIMIT    the project's load limit; ``""`` when none
DATA_DISPATCHER_URL                the experiment's DD server URL
DATA_DISPATCHER_AUTH_URL           the experiment's DD authentication server URL
METACAT_SERVER_URL                 the experiment's MetaCat server URL
METACAT_AUTH_SERVER_URL            the experiment's MetaCat authentication server URL
================================== ==============================================================

plus the context variables passed in ``extra``; :func:`context_variables` builds the usual ones:

==================== =====================================================
variable             value
==================== =====================================================
POMS_EXPERIMENT      experiment name
POMS_CAMPAIGN_NAME   campaign name
POMS_CAMPAIGN_ID     campaign id
POMS_STAGE_NAME      campaign stage name
POMS_STAGE_ID        campaign stage id
POMS_SUBMISSION_ID   submission id
POMS_LAUNCHER        user name of the person (or system actor) launching
POMS_ROLE            role of the launch (``analysis`` / ``production``)
POMS_LAUNCH_KIND     ``vocab.LaunchKind`` value (standard, test, recovery, ...)
==================== =====================================================

``extra`` names must be shell variable names, may not start with ``POMS_DD_`` (the service's own settings
namespace) and may not replace a SPEC variable.  A value containing NUL is refused with ValueError (no
environment or command line can carry it).

Templates: :func:`render_command` replaces ``{name}`` by ``shlex.quote(value)``; ``{{`` and ``}}`` are literal
braces (so ``${{HOME}}`` gives ``${HOME}``).  Because every value is quoted already, a placeholder inside quotes,
after a backslash, in a ``#`` comment or after a here-document operator (``<<``) is refused: there the quoting
would not protect the value.  :func:`check_template` applies the same rules at save time.
"""
from __future__ import annotations

import re
import shlex
import string
from typing import Mapping

from ...errors import InvalidInput

SPEC_VARIABLES = (
    "POMS_DATA_DISPATCHER_TASK_ID", "POMS_DATA_DISPATCHER_PROJECT_ID", "POMS_DATA_DISPATCHER_DATASET_QUERY",
    "POMS_DATA_DISPATCHER_PARAMETER", "POMS_DATA_DISPATCHER_PROJECT_VIRTUAL", "POMS_DATA_DISPATCHER_LOAD_LIMIT",
    "DATA_DISPATCHER_URL", "DATA_DISPATCHER_AUTH_URL", "METACAT_SERVER_URL", "METACAT_AUTH_SERVER_URL",
)

CONTEXT_VARIABLES = (
    "POMS_EXPERIMENT", "POMS_CAMPAIGN_NAME", "POMS_CAMPAIGN_ID", "POMS_STAGE_NAME", "POMS_STAGE_ID",
    "POMS_SUBMISSION_ID", "POMS_LAUNCHER", "POMS_ROLE", "POMS_LAUNCH_KIND",
)

#: The placeholders the LaunchService provides to a command template (every one, ``""`` when unknown).
PLACEHOLDERS: dict[str, str] = {
    "experiment": "experiment name",
    "campaign": "campaign name",
    "campaign_id": "campaign id",
    "stage": "campaign stage name",
    "stage_id": "campaign stage id",
    "role": "role of the launch (analysis or production)",
    "submission_id": "submission id",
    "task_id": "DD submission record id (POMS_DATA_DISPATCHER_TASK_ID)",
    "software_version": "the stage's software version",
    "job_config": "the stage's job configuration file",
    "launcher": "user name of the launcher",
    "project_id": "DD project id (empty for parameter launches)",
    "query": "the MQL of the launch",
    "parameter": "parameter of a parameter launch (empty otherwise)",
    "launch_kind": "standard, test, recovery, dependency, relaunch, override or scheduled",
}

TEMPLATE_LABEL = "Command template"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _text(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{name} must be a string or an integer, not {type(value).__name__}")
    text = str(value)
    if "\x00" in text:
        raise ValueError(f"{name} contains a NUL character, which no environment or command line can carry")
    return text


def launch_environment(*, task_id: int, project_id: int | None, query: str, parameter: str | None,
                       virtual: bool, load_limit: int | None, dd_url: str, dd_auth_url: str,
                       metacat_url: str, metacat_auth_url: str,
                       extra: Mapping[str, str | int] = {}) -> dict[str, str]:
    """The SPEC §2.5 variables of one launch, plus ``extra`` (see the module docstring)."""
    env = {
        "POMS_DATA_DISPATCHER_TASK_ID": _text("task_id", task_id),
        "POMS_DATA_DISPATCHER_PROJECT_ID": _text("project_id", project_id),
        "POMS_DATA_DISPATCHER_DATASET_QUERY": _text("query", query),
        "POMS_DATA_DISPATCHER_PARAMETER": _text("parameter", parameter),
        "POMS_DATA_DISPATCHER_PROJECT_VIRTUAL": "true" if virtual else "false",
        "POMS_DATA_DISPATCHER_LOAD_LIMIT": _text("load_limit", load_limit),
        "DATA_DISPATCHER_URL": _text("dd_url", dd_url),
        "DATA_DISPATCHER_AUTH_URL": _text("dd_auth_url", dd_auth_url),
        "METACAT_SERVER_URL": _text("metacat_url", metacat_url),
        "METACAT_AUTH_SERVER_URL": _text("metacat_auth_url", metacat_auth_url),
    }
    for name, value in extra.items():
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a shell variable name")
        if name.startswith("POMS_DD_") or name in env:
            raise ValueError(f"{name} may not be set by a launch (reserved)")
        env[name] = _text(name, value)
    return env


def context_variables(*, experiment: str, campaign_name: str, campaign_id: int, stage_name: str,
                      stage_id: int, submission_id: int, launcher: str, role: str,
                      launch_kind: str) -> dict[str, str]:
    """The ``POMS_*`` context variables (module docstring), ready for ``launch_environment(extra=...)``."""
    values = (experiment, campaign_name, campaign_id, stage_name, stage_id, submission_id, launcher, role,
              launch_kind)
    return {name: _text(name, value) for name, value in zip(CONTEXT_VARIABLES, values)}


def _fields(template: str) -> list[tuple[str, str | None]]:
    """``(literal text, placeholder name or None)`` pieces; InvalidInput for a malformed template."""
    try:
        pieces = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise _invalid(f"{TEMPLATE_LABEL} is malformed: {exc}; write {{{{ and }}}} for literal braces "
                       "(e.g. ${{HOME}})") from None
    out = []
    for literal, field, spec, conversion in pieces:
        if field is not None and (not _NAME.match(field) or spec or conversion):
            whole = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise _invalid(f"{TEMPLATE_LABEL}: {whole} is not a placeholder (write {{name}}, or {{{{ and }}}} "
                           "for literal braces, e.g. ${{HOME}})")
        out.append((literal, field))
    return out


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, field_errors={"command_template": [message]})


class _ShellState:
    """Just enough of the shell's lexer to know whether a placeholder stands where a word may start."""

    def __init__(self) -> None:
        self.quote = ""            # "", "'", '"', "$'" (ANSI-C), or "#" (comment)
        self.escaped = False
        self.heredoc = False
        self.lt_run = 0            # consecutive unquoted "<": exactly two make a here-document operator
        self.prev = "\n"

    def feed(self, text: str) -> None:
        for ch in text:
            self._char(ch)
            self.prev = ch

    def word(self) -> None:
        """A (quoted) placeholder value now stands at the current position."""
        self.heredoc = self.heredoc or self.lt_run == 2
        self.lt_run = 0
        self.prev = "'"

    def _char(self, ch: str) -> None:
        if ch != "<" or self.quote or self.escaped:
            self.heredoc = self.heredoc or self.lt_run == 2
            self.lt_run = 0
        if self.escaped:
            self.escaped = False
        elif self.quote == "#":
            self.quote = "" if ch == "\n" else "#"
        elif self.quote == "'":
            self.quote = "" if ch == "'" else "'"
        elif self.quote in ('"', "$'"):
            if ch == "\\":
                self.escaped = True
            elif (ch == '"' and self.quote == '"') or (ch == "'" and self.quote == "$'"):
                self.quote = ""
        elif ch == "\\":
            self.escaped = True
        elif ch == "'":
            self.quote = "$'" if self.prev == "$" else "'"
        elif ch == '"':
            self.quote = '"'
        elif ch == "#" and self.prev in " \t\n;&|()":
            self.quote = "#"
        elif ch == "<":
            self.lt_run += 1

    def problem(self) -> str | None:
        if self.escaped:
            return "follows a backslash"
        if self.quote == "#":
            return "is inside a # comment"
        if self.quote:
            return "is inside quotes (placeholders are quoted for you: write {name}, not '{name}' or \"{name}\")"
        if self.heredoc or self.lt_run == 2:
            return "follows a here-document (<<); use the exported environment variable there"
        return None


def _check(template: str, known: Mapping[str, object]) -> list[tuple[str, str | None]]:
    pieces = _fields(template)
    state = _ShellState()
    for literal, field in pieces:
        state.feed(literal)
        if field is None:
            continue
        if field not in known:
            names = ", ".join("{" + n + "}" for n in sorted(known))
            raise _invalid(f"{TEMPLATE_LABEL}: unknown placeholder {{{field}}}; known placeholders: {names} "
                           "(write {{ and }} for literal braces, e.g. ${{HOME}})")
        problem = state.problem()
        if problem:
            raise _invalid(f"{TEMPLATE_LABEL}: placeholder {{{field}}} {problem}")
        state.word()
    return pieces


def check_template(template: str) -> None:
    """Save-time validation: the rules of :func:`render_command` against :data:`PLACEHOLDERS`."""
    _check(template, PLACEHOLDERS)


def render_command(template: str, values: Mapping[str, str | int]) -> str:
    """``template`` with each ``{name}`` replaced by ``shlex.quote(values[name])``.

    InvalidInput (field ``command_template``) for a malformed template, an unknown name (listing the names of
    ``values``) or a placeholder where quoting would not protect it; ValueError for a value with NUL.
    """
    out = []
    for literal, field in _check(template, values):
        out.append(literal)
        if field is not None:
            out.append(shlex.quote(_text(field, values[field])))
    return "".join(out)
