"""A private PostgreSQL cluster for the demo and the tests (initdb / pg_ctl from ``pg_config --bindir``).

PostgreSQL refuses to run as root; when we are root the cluster is created and run as the ``postgres``
system user (via ``runuser``), with the data directory owned by it.  The server listens on 127.0.0.1 on the
given port and on a Unix socket inside the data directory; authentication is ``trust`` on loopback only,
which is fine for a throwaway or demo cluster and never meant for production.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def _bindir() -> Path:
    env = os.environ.get("POMS_DD_PG_BINDIR")
    if env:
        return Path(env)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    raise RuntimeError("PostgreSQL server binaries not found (install postgresql, or set POMS_DD_PG_BINDIR)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DevPostgres:
    """Control of one private cluster in ``datadir``."""

    datadir: Path
    port: int

    @property
    def _as_postgres(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        return subprocess.run(self._as_postgres + args, check=True, capture_output=True, text=True, **kw)

    @property
    def superuser(self) -> str:
        return "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg2://{self.superuser}@127.0.0.1:{self.port}/{dbname}"

    def init(self) -> None:
        """Create the cluster if the data directory is empty."""
        if (self.datadir / "PG_VERSION").exists():
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            os.chown(self.datadir, pg.pw_uid, pg.pw_gid)
        self._ensure_traversable()
        self._run([str(_bindir() / "initdb"), "-D", str(self.datadir), "-A", "trust", "-E", "UTF8",
                   "--no-instructions", "-U", self.superuser])

    def _ensure_traversable(self) -> None:
        """As root, let the postgres user reach the data directory (search permission on its parents only)."""
        if os.geteuid() != 0:
            return
        for path in self.datadir.parents:
            if path == Path("/"):
                break
            mode = path.stat().st_mode
            if mode & 0o001 == 0:
                os.chmod(path, mode | 0o001)

    def running(self) -> bool:
        return subprocess.run(self._as_postgres + [str(_bindir() / "pg_ctl"), "status", "-D", str(self.datadir)],
                              capture_output=True).returncode == 0

    def start(self) -> None:
        """Initialise if needed and start; waits until the server accepts connections."""
        self.init()
        self._ensure_traversable()
        if self.running():
            return
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.datadir} -c fsync=off " \
               f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self._run([str(_bindir() / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.datadir),
                   "-l", str(self.datadir / "server.log"), "-o", opts])

    def stop(self) -> None:
        if self.running():
            self._run([str(_bindir() / "pg_ctl"), "stop", "-m", "fast", "-w", "-D", str(self.datadir)])

    def create_database(self, name: str) -> None:
        """Create database ``name`` unless it exists."""
        import psycopg2
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.superuser, dbname="postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cur.fetchone() is None:
                    from psycopg2 import sql
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            conn.close()

    def wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL on port {self.port} did not come up; see {self.datadir}/server.log")
