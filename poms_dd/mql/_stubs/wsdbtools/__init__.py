"""Stand-in for ``wsdbtools`` (not on PyPI), which MetaCat's server-side import chain needs only by name.

``metacat.mql`` imports ``metacat.db`` → ``metacat.auth`` → ``auth_core``, whose module body does
``from wsdbtools import ConnectionPool``.  Nothing in MQL parsing uses it.  Loaded only by
``poms_dd.mql`` and only when no real ``wsdbtools`` is installed.
"""


class ConnectionPool:
    """Never used: poms_dd parses MQL with MetaCat's parser but never touches MetaCat's database."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("wsdbtools stand-in: MetaCat database connections are not available in poms_dd")
