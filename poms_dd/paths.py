"""Where the shipped templates and migrations are, for a source checkout and for an installed wheel."""
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the directory of a shipped tree (``templates`` or ``migrations``).

    An installed wheel carries them in ``poms_dd/_data/<name>``; a source checkout has them beside the
    package.  Raises FileNotFoundError if neither exists.
    """
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"poms_dd data directory {name!r} not found (broken installation?)")
