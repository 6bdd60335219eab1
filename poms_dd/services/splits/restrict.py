"""The stage query restricted by a where clause, in MQL that MetaCat accepts whatever the query's shape.

``(Q) where C`` is the natural composition, but MetaCat's MQL converter fails on it when Q is a plain
``files from ns:ds where ...`` (``BasicFileQuery.addWhere`` builds ``Node("meta_and", self.Wheres, where)``, and
the server answers ``MQLSyntaxError: ... unhashable type: 'slice'``; the code is the same in every MetaCat
version we know, and the testbed answers the same since it runs MetaCat's parser); its optimizer fails the same
way when it pushes C into a union or difference whose members have where clauses.  :func:`restrict` therefore
uses the first of these forms that MetaCat's parser converts and optimizes for this query:

1. ``(Q) where C`` — C goes into Q's own SQL (Q without a where clause, ``ordered``/``skip``/``limit``, a
   ``filter``, ``parents(...)``, ...);
2. ``((Q) limit 1000000000000) where C`` — a limit that never limits keeps C out of Q's where clause; the server
   filters Q's rows (what a where clause over Q costs anyway);
3. ``join((Q), (files where C))`` — the intersection with the catalogue's files that satisfy C; it always
   converts, but the server evaluates C over every file (an index helps for ``=``, not for ranges), so it is
   the last resort (Q a union or difference with where clauses).

The choice depends only on Q's shape, so it is made once per query text (a parse costs a few milliseconds).
"""
from __future__ import annotations

from functools import lru_cache

from ...mql import parse

NO_LIMIT = 10 ** 12
_PROBE = "core.runs[any] = 0"
_FORMS = ("{q} where {c}", "({q} limit " + str(NO_LIMIT) + ") where {c}", "join({q}, (files where {c}))")


def parenthesised(query: str) -> str:
    """The stage query as a unit to compose with: ``(Q)``; never appended to as text (``base`` exports it)."""
    return f"({query.strip()})"


def restrict(query: str, condition: str) -> str:
    """MQL for the files of ``query`` that satisfy the where-condition ``condition`` (see the module text)."""
    return _FORMS[_form(query.strip())].format(q=parenthesised(query), c=condition)


def _converts(mql: str) -> bool:
    """Whether MetaCat's parser accepts ``mql`` and its optimizer converts it (what the server does first)."""
    try:
        parse(mql).optimize()
    except Exception:       # ValueError from the parser, or MetaCat's tree-conversion errors from the optimizer
        return False
    return True


@lru_cache(maxsize=512)
def _form(query: str) -> int:
    """The index of the first form MetaCat converts for ``query``; the first when none does (a query the parser
    rejects anyway, whose launch's validation then says why in terms of the query as written)."""
    for i, form in enumerate(_FORMS):
        if _converts(form.format(q=parenthesised(query), c=_PROBE)):
            return i
    return 0
