"""The text layer of campaign INI files: reading sections and ``key=value`` lines, writing them back.

The dialect is the one POMS campaign files use (Python ``configparser`` style):

* ``[kind]`` or ``[kind name]`` section headers (``[campaign]``, ``[campaign_stage reco]`` ...);
* ``key=value`` lines (spaces around ``=`` allowed; keys are case-insensitive and read in lower case);
* full-line comments starting with ``#`` or ``;``;
* multi-line values: following lines indented by whitespace continue the value (each line is stripped,
  blank lines are dropped);
* ``%%`` stands for a literal ``%`` (POMS files are read with interpolation).  A single ``%`` that is not
  doubled is kept as written, so ``%(release)s`` campaign-keyword placeholders survive until launch.

Unlike ``configparser`` the reader does not stop at the first mistake: it returns every problem it finds
(duplicate sections, duplicate keys, lines that are not ``key=value``) with where it is.  The writer is
deterministic; ``read(write(x))`` gives back ``x`` for canonical values (see :func:`canonical`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

INDENT = "    "


@dataclass
class Entry:
    key: str
    value: str
    line: int


@dataclass
class Section:
    """One ``[kind name]`` section; ``entries`` keeps the file's key order."""

    kind: str
    name: str
    line: int
    entries: dict[str, Entry] = field(default_factory=dict)

    @property
    def header(self) -> str:
        return section_header(self.kind, self.name)


@dataclass(frozen=True)
class Problem:
    """A mistake in the file: ``where`` is ``"[section] key"``, ``"[section]"`` or ``"line N"``."""

    where: str
    message: str


def section_header(kind: str, name: str = "") -> str:
    return f"[{kind} {name}]" if name else f"[{kind}]"


def where(kind: str, name: str = "", key: str | None = None) -> str:
    """The location label used in problem reports, e.g. ``[campaign_stage reco] cs_split_type``."""
    header = section_header(kind, name)
    return f"{header} {key}" if key else header


def unescape(value: str) -> str:
    """``%%`` → ``%``; a lone ``%`` is kept."""
    return value.replace("%%", "%")


def escape(value: str) -> str:
    return value.replace("%", "%%")


def canonical(value: str) -> str:
    """The form a value has after a write/read cycle: lines stripped, blank lines dropped."""
    return "\n".join(line.strip() for line in value.splitlines() if line.strip())


def read(text: str) -> tuple[list[Section], list[Problem]]:
    """Split INI text into sections.  Returns the sections (first occurrence of each header) and problems."""
    sections: list[Section] = []
    seen: dict[str, Section] = {}
    problems: list[Problem] = []
    current: Section | None = None
    discard = False          # inside a duplicate section: read it, but do not keep it
    entry_parts: list[str] | None = None
    entry: Entry | None = None

    def finish_entry() -> None:
        nonlocal entry, entry_parts
        if entry is not None and entry_parts is not None:
            entry.value = unescape("\n".join(p for p in entry_parts if p))
        entry, entry_parts = None, None

    for lineno, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        if raw[0] in " \t" and entry_parts is not None:
            entry_parts.append(stripped)
            continue
        if stripped[0] in "#;":
            continue
        finish_entry()
        if stripped.startswith("["):
            current, discard = _header(stripped, lineno, seen, sections, problems)
            continue
        key, sep, value = stripped.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            problems.append(Problem(f"line {lineno}", f"expected key=value, found {stripped[:60]!r}."))
            continue
        if current is None:
            if not discard:
                problems.append(Problem(f"line {lineno}", f"{key!r} is set before any [section] header."))
            continue
        entry = Entry(key, "", lineno)
        entry_parts = [value.strip()]
        if discard:
            continue
        if key in current.entries:
            first_line = current.entries[key].line
            problems.append(Problem(where(current.kind, current.name, key),
                                    f"line {lineno}: set twice (first at line {first_line}); keep one."))
            continue
        current.entries[key] = entry
    finish_entry()
    return sections, problems


def _header(stripped: str, lineno: int, seen: dict[str, Section], sections: list[Section],
            problems: list[Problem]) -> tuple[Section | None, bool]:
    """The section a ``[kind name]`` line opens, and whether its entries are discarded (a broken or repeated
    header); the first occurrence of each header is kept in ``sections``."""
    if not stripped.endswith("]"):
        problems.append(Problem(f"line {lineno}", f"section header {stripped!r} is missing its ']'."))
        return None, True
    kind, _, name = stripped[1:-1].strip().partition(" ")
    section = Section(kind.strip().lower(), " ".join(name.split()), lineno)
    first = seen.get(section.header)
    if first is not None:
        problems.append(Problem(section.header, f"line {lineno}: this section appears twice (first at "
                                f"line {first.line}); merge the two into one."))
        return section, True
    seen[section.header] = section
    sections.append(section)
    return section, False


def write(sections: list[tuple[str, list[tuple[str, str]]]], preamble: list[str] | None = None) -> str:
    """Render ``[(header, [(key, value), ...]), ...]``.  Values are canonicalised and ``%`` doubled;
    multi-line values continue on indented lines."""
    out: list[str] = [f"# {line}" if line else "#" for line in (preamble or [])]
    for header, items in sections:
        if out:
            out.append("")
        out.append(header)
        for key, value in items:
            lines = escape(canonical(value)).split("\n")
            out.append(f"{key}={lines[0]}")
            out.extend(INDENT + line for line in lines[1:])
    return "\n".join(out) + "\n"
