""""Test connection" (SPEC §7): log in to each configured service and report what it says, never raising."""
from __future__ import annotations

from typing import Callable

from ..errors import PomsDDError
from .config import ExperimentConnection, ServiceCheck
from .data_dispatcher import DataDispatcherAdapter
from .errors import DATA_DISPATCHER, METACAT, RUCIO
from .metacat import MetaCatAdapter, namespace_query
from .rucio import RucioAdapter
from .token_files import secrets_of


def _guard(service: str, conn: ExperimentConnection, url: str | None,
           check: Callable[[], ServiceCheck]) -> ServiceCheck:
    if not url:
        return ServiceCheck(service=service, ok=False, error=f"No {service} URL is configured.")
    try:
        return check()
    except PomsDDError as exc:          # ExternalServiceError (already redacted), ConfigurationError, InvalidInput
        error = getattr(exc, "detail", None) or exc.message
    except Exception as exc:            # noqa: BLE001 - a health check reports, it never raises
        error = f"unexpected error: {exc.__class__.__name__}: {exc}"
    return ServiceCheck(service=service, ok=False, url=url, error=secrets_of(conn).redact(error))


def _logged_in(adapter: MetaCatAdapter | DataDispatcherAdapter,
               sample: Callable[[], dict[str, object]]) -> ServiceCheck:
    """A forced login (proving the credential), then ``sample()``, the version and who the token says we are."""
    identity = adapter.login(force=True)
    details: dict[str, object] = {"auth_url": adapter.auth_url, **sample()}
    return ServiceCheck(service=adapter.service, ok=True, url=adapter.url, version=adapter.version(),
                        identity=identity.username, token_expires=identity.expires, details=details)


def check_metacat(conn: ExperimentConnection) -> ServiceCheck:
    def sample(mc: MetaCatAdapter) -> dict[str, object]:
        if not conn.default_namespace:
            return {}
        query = namespace_query(conn.default_namespace)
        counted = mc.count(query)
        return {"sample_query": query, "sample_count": counted.count, "sample_total_size": counted.total_size}

    def run() -> ServiceCheck:
        mc = MetaCatAdapter(conn)
        return _logged_in(mc, lambda: sample(mc))
    return _guard(METACAT, conn, conn.metacat_url, run)


def check_data_dispatcher(conn: ExperimentConnection) -> ServiceCheck:
    def run() -> ServiceCheck:
        dd = DataDispatcherAdapter(conn)
        return _logged_in(dd, lambda: {"rses": [
            f"{r.name} ({r.kind}{'' if r.available in (None, True) else ', unavailable'}"
            f"{'' if r.enabled in (None, True) else ', disabled'})" for r in dd.list_rses()]})
    return _guard(DATA_DISPATCHER, conn, conn.dd_url, run)


def check_rucio(conn: ExperimentConnection) -> ServiceCheck:
    def run() -> ServiceCheck:
        rucio = RucioAdapter(conn)
        identity = rucio.login(force=True)
        rses = rucio.list_rses()
        return ServiceCheck(service=RUCIO, ok=True, url=rucio.url, version=rucio.ping(), identity=identity.username,
                            details={"auth_url": rucio.auth_url, "account": rucio.account,
                                     "rses": [f"{r.name} ({r.kind})" for r in rses]})
    return _guard(RUCIO, conn, conn.rucio_host, run)


def check_connection(conn: ExperimentConnection) -> list[ServiceCheck]:
    """One ServiceCheck per service (MetaCat, Data Dispatcher, Rucio): version, identity, token expiry and a
    sample (MetaCat: count of the default namespace; DD and Rucio: RSEs), or the exact error.  Never raises;
    no secret of the experiment appears in an error."""
    return [check_metacat(conn), check_data_dispatcher(conn), check_rucio(conn)]
