""""Test connection" (SPEC §7): log in to each configured service and report what it says, never raising."""
from __future__ import annotations

from typing import Callable

from ..errors import PomsDDError
from .config import ExperimentConnection, ServiceCheck
from .data_dispatcher import DataDispatcherAdapter
from .errors import DATA_DISPATCHER, METACAT, RUCIO
from .metacat import MetaCatAdapter, namespace_query
from .rucio import RucioAdapter


def _guard(service: str, url: str | None, check: Callable[[], ServiceCheck]) -> ServiceCheck:
    if not url:
        return ServiceCheck(service=service, ok=False, error=f"No {service} URL is configured.")
    try:
        return check()
    except PomsDDError as exc:          # ExternalServiceError, ConfigurationError, InvalidInput
        return ServiceCheck(service=service, ok=False, url=url, error=getattr(exc, "detail", None) or exc.message)
    except Exception as exc:            # noqa: BLE001 - a health check reports, it never raises
        return ServiceCheck(service=service, ok=False, url=url,
                            error=f"unexpected error: {exc.__class__.__name__}: {exc}")


def check_metacat(conn: ExperimentConnection) -> ServiceCheck:
    def run() -> ServiceCheck:
        mc = MetaCatAdapter(conn)
        identity = mc.login(force=True)
        details: dict[str, object] = {"auth_url": mc.auth_url}
        if conn.default_namespace:
            query = namespace_query(conn.default_namespace)
            counted = mc.count(query)
            details.update(sample_query=query, sample_count=counted.count, sample_total_size=counted.total_size)
        return ServiceCheck(service=METACAT, ok=True, url=mc.url, version=mc.version(), identity=identity.username,
                            token_expires=identity.expires, details=details)
    return _guard(METACAT, conn.metacat_url, run)


def check_data_dispatcher(conn: ExperimentConnection) -> ServiceCheck:
    def run() -> ServiceCheck:
        dd = DataDispatcherAdapter(conn)
        identity = dd.login(force=True)
        rses = dd.list_rses()
        details: dict[str, object] = {
            "auth_url": dd.auth_url,
            "rses": [f"{r.name} ({r.kind}{'' if r.available in (None, True) else ', unavailable'}"
                     f"{'' if r.enabled in (None, True) else ', disabled'})" for r in rses]}
        return ServiceCheck(service=DATA_DISPATCHER, ok=True, url=dd.url, version=dd.version(),
                            identity=identity.username, token_expires=identity.expires, details=details)
    return _guard(DATA_DISPATCHER, conn.dd_url, run)


def check_rucio(conn: ExperimentConnection) -> ServiceCheck:
    def run() -> ServiceCheck:
        rucio = RucioAdapter(conn)
        identity = rucio.login(force=True)
        rses = rucio.list_rses()
        return ServiceCheck(service=RUCIO, ok=True, url=rucio.url, version=rucio.ping(), identity=identity.username,
                            details={"auth_url": rucio.auth_url, "account": rucio.account,
                                     "rses": [f"{r.name} ({r.kind})" for r in rses]})
    return _guard(RUCIO, conn.rucio_host, run)


def check_connection(conn: ExperimentConnection) -> list[ServiceCheck]:
    """One ServiceCheck per service (MetaCat, Data Dispatcher, Rucio): version, identity, token expiry and a
    sample (MetaCat: count of the default namespace; DD and Rucio: RSEs), or the exact error.  Never raises."""
    return [check_metacat(conn), check_data_dispatcher(conn), check_rucio(conn)]
