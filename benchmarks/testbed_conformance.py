"""Independent conformance check of ``poms-dd testbed`` (a script, not a unit test).

    .venv/bin/python benchmarks/testbed_conformance.py [--big] [--only SECTION ...] [-v]

It starts ``poms-dd testbed --seed demo --port <free>`` as a SUBPROCESS and drives it only through the three
real client libraries (datadispatcher-client 2.0.3, metacat-client 4.1.5, rucio-clients 41.5.1), the way a
grid job and a campaign manager do.  Expected answers are computed from the documented seed facts read back
through the clients (``get_dataset_files`` + ``get_file`` metadata), never from the testbed's internals.
Prints ``PASS``/``FAIL`` per check and a summary; exit status 1 if anything failed.

Sections: infra (banner, SIGTERM, --state), auth, metacat (reads, every MQL form, §8 failures, writes),
dd (every endpoint of PROTOCOLS §1.2, timeouts via tick, concurrency), rucio, error-pages (webpie 500s),
perf (100k files: create_project and summary=count), and with ``--big`` a 1,000,000-file seed.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zlib
from datetime import datetime, timezone

WORK = tempfile.mkdtemp(prefix="tb-conformance-")
# Client-side files (PROTOCOLS §0.7) go into WORK: token libraries, worker-id files, Rucio token files.
for _var in ("VIRTUAL_ENV", "RUCIO_CONFIG", "RUCIO_HOME", "CONDA_PREFIX", "RUCIO_ACCOUNT", "RUCIO_AUTH_TYPE",
             "DATA_DISPATCHER_URL", "DATA_DISPATCHER_AUTH_URL", "METACAT_SERVER_URL", "METACAT_AUTH_SERVER_URL"):
    os.environ.pop(_var, None)
os.environ["TMPDIR"] = WORK
os.environ["HOME"] = WORK
tempfile.tempdir = WORK
os.chdir(WORK)

import requests  # noqa: E402  (only to wait for the port; every check goes through the clients)
from data_dispatcher.api import DataDispatcherClient  # noqa: E402
from metacat.common.auth_client import AuthenticationError  # noqa: E402
from metacat.webapi import MetaCatClient  # noqa: E402
from metacat.webapi.webapi import (AlreadyExistsError, BadRequestError, NotFoundError,  # noqa: E402
                                   PermissionDeniedError, WebAPIError)
from metacat.common.exceptions import WebAPIError as DDWebAPIError  # noqa: E402

POMS_DD = os.path.join(os.path.dirname(sys.executable), "poms-dd")
if not os.path.exists(POMS_DD):
    POMS_DD = shutil.which("poms-dd") or "poms-dd"

RESULTS: list[tuple[str, str, bool, str]] = []
VERBOSE = False


class Fail(AssertionError):
    pass


def expect(cond, message: str = "") -> None:
    if not cond:
        raise Fail(message or "expectation failed")


def eq(got, want, what: str = "") -> None:
    if got != want:
        g, w = repr(got), repr(want)
        raise Fail(f"{what}: got {g[:300]} want {w[:300]}")


def same_set(got, want, what: str = "") -> None:
    got, want = set(got), set(want)
    if got != want:
        raise Fail(f"{what}: {len(got)} got vs {len(want)} expected; missing {sorted(want - got)[:5]}, "
                   f"extra {sorted(got - want)[:5]}")


def raises(exc_types, fn, status: int | None = None, what: str = ""):
    """fn() must raise one of exc_types (with .StatusCode == status if given); returns the exception."""
    try:
        result = fn()
        if hasattr(result, "__next__"):
            result = list(result)
    except exc_types as e:
        if status is not None and getattr(e, "StatusCode", None) != status:
            raise Fail(f"{what}: expected HTTP {status}, got {getattr(e, 'StatusCode', None)}: {e}") from None
        return e
    except Exception as e:                     # noqa: BLE001
        raise Fail(f"{what}: expected {exc_types}, got {type(e).__name__} "
                   f"{getattr(e, 'StatusCode', '')}: {str(e)[:200]}") from None
    raise Fail(f"{what}: expected an error, got {str(result)[:200]}")


def run(section: str, name: str, fn) -> bool:
    t0 = time.perf_counter()
    try:
        fn()
        ok, detail = True, ""
    except Exception as e:                     # noqa: BLE001
        ok = False
        detail = f"{type(e).__name__}: {e}"
        if VERBOSE and not isinstance(e, Fail):
            detail += "\n" + traceback.format_exc()
    dt = time.perf_counter() - t0
    RESULTS.append((section, name, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'}  [{section}] {name}  ({dt:.2f} s){'' if ok else '  -- ' + detail}",
          flush=True)
    return ok


# ----------------------------------------------------------------------------------------------- the testbed

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Testbed:
    """``poms-dd testbed`` as a subprocess; ``.banner`` is what it printed before serving."""

    def __init__(self, *extra: str, timeout: float = 600) -> None:
        self.port = free_port()
        self.args = [POMS_DD, "testbed", "--seed", "demo", "--port", str(self.port), *extra]
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=WORK)
        self.banner = ""
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"testbed exited: {self.proc.stderr.read()[-2000:]}")
            self.banner += line
            if "bob/bob" in line:
                break
        self.startup = time.perf_counter() - t0
        self.base = f"http://127.0.0.1:{self.port}"
        self.dd_url, self.mc_url, self.rucio_url = self.base + "/dd", self.base + "/mc", self.base + "/rucio"
        self.n = 0

    def hook(self, hook_name: str, **params) -> dict:
        """A /_testbed hook (not part of any upstream protocol: the documented test interface)."""
        r = requests.post(f"{self.base}/_testbed/{hook_name}", params=params, timeout=60)
        r.raise_for_status()
        return r.json()

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            return -999, out
        return self.proc.returncode, out

    # -------- clients
    def _lib(self, tag: str) -> str:
        self.n += 1
        return os.path.join(WORK, f"tok-{self.port}-{tag}-{self.n}")

    def dd(self, user: str | None = "poms", worker: str = "w1", password: str | None = None) -> DataDispatcherClient:
        c = DataDispatcherClient(server_url=self.dd_url, worker_id=worker, token_library=self._lib("dd"))
        if user:
            c.login_password(user, password or user)
        return c

    def mc(self, user: str | None = None) -> MetaCatClient:
        c = MetaCatClient(server_url=self.mc_url, token_library=self._lib("mc"))
        if user:
            c.login_password(user, user)
        return c

    def rucio(self, account: str = "poms", password: str | None = None, stale_token: bool = False):
        """A rucio Client with its own token directory (one token file per identity, PROTOCOLS §8)."""
        from rucio.client import Client
        from rucio.client.baseclient import BaseClient
        d = tempfile.mkdtemp(dir=WORK, prefix="rucio-")
        BaseClient.TOKEN_PATH_PREFIX = d + "/.rucio_"
        if stale_token:
            import getpass
            path = f"{d}/.rucio_{getpass.getuser()}"
            os.makedirs(path, mode=0o700)
            with open(f"{path}/auth_token_for_account_{account}", "w") as f:
                f.write(f"{account}-stale-token-unknown-to-the-server")
        return Client(rucio_host=self.rucio_url, auth_host=self.rucio_url, account=account, auth_type="userpass",
                      creds={"username": account, "password": password or account}, timeout=60)


# ----------------------------------------------------------------------------------------------- seed facts

class Seed:
    """Seed facts read back through MetaCat reads (get_dataset_files / get_files), indexed by fid."""

    def __init__(self, tb: Testbed) -> None:
        mc = tb.mc()
        self.raw = list(mc.get_dataset_files("hypot:raw", with_metadata=True))
        self.reco = list(mc.get_dataset_files("hypot:reco", with_metadata=True))
        self.mc = list(mc.get_dataset_files("hypot:mc", with_metadata=True))
        prov = mc.get_files([{"fid": f["fid"]} for f in self.reco], with_metadata=False, with_provenance=True)
        self.reco_parents = {f["fid"]: [p["fid"] for p in f["parents"]] for f in prov}
        self.by_fid = {f["fid"]: f for f in self.raw + self.reco + self.mc}

    @staticmethod
    def runs(f) -> list:
        r = f["metadata"].get("core.runs")
        return r if isinstance(r, list) else [r]

    def raw_where(self, pred) -> set[str]:
        return {f["fid"] for f in self.raw if pred(f)}


def fids(records) -> list[str]:
    return [r["fid"] for r in records]


def ordered_key(f) -> tuple:
    return (f["created_timestamp"], f["fid"])


def utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


# ----------------------------------------------------------------------------------------------- sections

def infra_checks(tb: Testbed) -> None:
    S = "infra"

    def banner():
        for want in (f"export DATA_DISPATCHER_URL={tb.dd_url}", f"export METACAT_SERVER_URL={tb.mc_url}",
                     f"{tb.rucio_url}", "poms/poms", "alice/alice", "bob/bob"):
            expect(want in tb.banner, f"banner lacks {want!r}:\n{tb.banner}")
    run(S, "testbed prints the DD / MetaCat / Rucio client URLs and the seeded accounts", banner)

    def versions():
        eq(tb.dd(None).version(), "2.0.3", "DD version()")
        v = tb.mc().get_version()
        expect(re.fullmatch(r"4\.\d+\.\d+", v.strip()), f"MetaCat version {v!r}")
    run(S, "DD version() is '2.0.3' text; MetaCat get_version() is 4.x text", versions)

    def no_retry_statuses():
        dd = tb.dd("poms")
        t0 = time.time()
        raises(DDWebAPIError, lambda: dd.get_project("not-a-number"), what="get_project('not-a-number')")
        raises(DDWebAPIError, lambda: dd.file_done(999999, "hypot:nothing"), what="file_done unknown project")
        mc = tb.mc()
        raises(WebAPIError, lambda: mc.query("files from hypot:raw where created_timestamp > 5"), what="bad query")
        expect(time.time() - t0 < 5, "errors took long: a 502/503/504 made a client retry")
    run(S, "malformed requests fail fast (no 502/503/504 the clients would retry for minutes)", no_retry_statuses)


def lifecycle_checks() -> None:
    S = "infra"
    state = os.path.join(WORK, "state.pickle")

    def sigterm_and_state():
        tb = Testbed("--state", state)
        try:
            dd = tb.dd("alice")
            p = dd.create_project(["hypot:hypot_mc_00001.root"], project_attributes={"persist": "yes"})
            mc = tb.mc("poms")
            mc.create_dataset("hypot:persisted_ds", description="kept across restarts")
        finally:
            rc, out = tb.stop()
        eq(rc, 0, "exit status after SIGTERM")
        expect("stopped" in out and state in out, f"no shutdown message naming the state file: {out!r}")
        expect(os.path.exists(state), "state file missing after SIGTERM")
        tb2 = Testbed("--state", state)
        try:
            got = tb2.dd("alice").get_project(p["project_id"], with_files=True)
            expect(got is not None, "project lost across restart")
            eq(got["attributes"], {"persist": "yes"}, "attributes after restart")
            eq(len(got["file_handles"]), 1, "handles after restart")
            expect(tb2.mc().get_dataset("hypot:persisted_ds") is not None, "dataset lost across restart")
        finally:
            rc2, _ = tb2.stop()
        eq(rc2, 0, "second exit status")
    run(S, "SIGTERM stops the server (exit 0) and --state keeps DD and MetaCat state across restarts",
        sigterm_and_state)

    def kill_and_tokens():
        path = os.path.join(WORK, "state2.pickle")
        tb = Testbed("--state", path)
        try:
            dd = tb.dd("bob")
            p = dd.create_project(["hypot:hypot_mc_00002.root"], project_attributes={"k": 1})
            time.sleep(4.5)                          # the state is saved while running, not only at exit
        finally:
            tb.proc.kill()
            tb.proc.communicate()
        tb2 = Testbed("--state", path)
        try:
            dd.ServerURL = tb2.dd_url                 # same client, same token, new port
            got = dd.get_project(p["project_id"], with_files=False)
            expect(got is not None and got["attributes"] == {"k": 1}, f"after SIGKILL: {got}")
            expect(any(x["project_id"] == p["project_id"] for x in dd.list_projects(with_files=False)),
                   "a token issued before the restart is still accepted")
        finally:
            tb2.stop()
    run(S, "--state is saved while running (survives SIGKILL); tokens survive a restart", kill_and_tokens)

    def sigint():
        tb = Testbed("--files", "100")
        rc, _ = tb.stop(signal.SIGINT)
        eq(rc, 0, "exit status after SIGINT")
    run(S, "SIGINT stops the server cleanly", sigint)


def auth_checks(tb: Testbed) -> None:
    S = "auth"

    def dd_password():
        c = tb.dd(None)
        user, exp = c.login_password("poms", "poms")
        eq(user, "poms", "login_password subject")
        expect(exp > time.time() + 3600, "token expiry")
        expect(c.list_projects(owner="all", with_files=False) is not None, "authenticated call")
        user, _ = c.auth_info()
        eq(user, "poms", "auth_info()")
    run(S, "DD login_password (ldap-then-digest flow) poms/poms, auth_info", dd_password)

    def mc_password():
        for u in ("alice", "bob", "poms"):
            c = tb.mc(None)
            eq(c.login_password(u, u)[0], u, f"MetaCat login_password {u}")
    run(S, "MetaCat login_password alice/alice, bob/bob, poms/poms", mc_password)

    def digest_only():
        c = tb.mc(None)
        eq(c.login_digest("bob", "bob")[0], "bob", "login_digest")
        raises(AuthenticationError, lambda: tb.mc(None).login_digest("bob", "wrong"), what="digest wrong pw")
    run(S, "RFC 2617 digest login works on its own (fallback of login_password)", digest_only)

    def bad_password():
        raises(AuthenticationError, lambda: tb.dd(None).login_password("alice", "nope"), what="DD bad pw")
        raises(AuthenticationError, lambda: tb.mc(None).login_password("nobody", "x"), what="MC unknown user")
    run(S, "wrong password / unknown user → AuthenticationError", bad_password)

    def bearer():
        c = tb.dd(None)
        eq(c.login_token("alice", "alice-bearer-token")[0], "alice", "DD login_token registered bearer")
        jwt_text = c.Token.encode()
        m = tb.mc(None)
        eq(m.login_token("alice", jwt_text)[0], "alice", "MetaCat login_token with a testbed-issued JWT")
        raises(AuthenticationError, lambda: tb.mc(None).login_token("alice", "bob-bearer-token"), what="wrong bearer")
        raises(AuthenticationError, lambda: tb.dd(None).login_token("alice", "garbage"), what="garbage bearer")
    run(S, "bearer-token login (method=token) for DD and MetaCat", bearer)

    def token_library_reuse():
        lib = os.path.join(WORK, "shared-lib")
        a = DataDispatcherClient(server_url=tb.dd_url, worker_id="x", token_library=lib)
        a.login_password("bob", "bob")
        b = DataDispatcherClient(server_url=tb.dd_url, worker_id="x", token_library=lib)
        expect(isinstance(b.list_projects(with_files=False), list), "second client did not reuse the saved token")
    run(S, "a second client picks up the token saved in the token library", token_library_reuse)

    def unknown_token():
        from metacat.common import SignedToken
        import jwt
        forged = jwt.encode({"sub": "poms", "exp": int(time.time()) + 3600, "iat": int(time.time()),
                             "nbf": int(time.time()), "jti": "x"}, "some-other-secret-of-32-bytes-length!!",
                            algorithm="HS256")
        dd = DataDispatcherClient(server_url=tb.dd_url, worker_id="w", token=forged,
                                  token_library=os.path.join(WORK, "forged"))
        raises(DDWebAPIError, lambda: dd.create_project(["hypot:a"]), status=401, what="DD create_project forged")
        raises(DDWebAPIError, lambda: dd.list_projects(), status=401, what="DD list_projects forged")
        eq(dd.next_file(1, stagger=0, timeout=1), False, "next_file with a forged token returns False")
        anon = tb.dd(None)
        raises(DDWebAPIError, lambda: anon.create_project(["hypot:a"]), status=401, what="DD create_project anon")
        m = MetaCatClient(server_url=tb.mc_url, token=forged, token_library=os.path.join(WORK, "forged-mc"))
        raises(WebAPIError, lambda: m.create_dataset("hypot:forged"), status=401, what="MC create_dataset forged")
        expect(SignedToken.decode(forged).subject == "poms", "sanity")
    run(S, "unknown/forged tokens and anonymous writes → 401 (DD and MetaCat)", unknown_token)

    def rucio_auth():
        from rucio.common.exception import CannotAuthenticate
        r = tb.rucio("alice")
        eq(r.whoami()["account"], "alice", "whoami")
        raises(CannotAuthenticate, lambda: tb.rucio("alice", "wrong"), what="rucio wrong password")
        r2 = tb.rucio("bob", stale_token=True)
        eq(r2.whoami()["account"], "bob", "whoami after a stale token (401 → re-login)")
        eq(r.ping()["version"], "41.5.1", "ping")
    run(S, "Rucio userpass login, whoami, ping; wrong password CannotAuthenticate; stale token → 401 → re-login",
        rucio_auth)

    def rses():
        r = tb.rucio("poms")
        got = {x["rse"]: x["rse_type"] for x in r.list_rses()}
        eq(got.get("FNAL_DCACHE_DISK"), "DISK", "FNAL_DCACHE_DISK type")
        eq(got.get("FNAL_ENSTORE"), "TAPE", "FNAL_ENSTORE type")
        eq([x["rse"] for x in r.list_rses("FNAL_ENSTORE")], ["FNAL_ENSTORE"], "list_rses(expression)")
        same_set([x["rse"] for x in r.list_rses("FNAL_ENSTORE|FNAL_DCACHE_DISK")],
                 ["FNAL_ENSTORE", "FNAL_DCACHE_DISK"], "A|B")
        eq(r.get_rse("FNAL_ENSTORE")["rse_type"], "TAPE", "get_rse")
        dd = {x["name"]: x for x in tb.dd("poms").list_rses()}
        expect(dd["FNAL_ENSTORE"]["is_tape"] and not dd["FNAL_DCACHE_DISK"]["is_tape"], "DD RSE tape flags")
    run(S, "RSEs FNAL_DCACHE_DISK (disk) and FNAL_ENSTORE (tape) in Rucio and DD", rses)


def seed_checks(tb: Testbed, seed: Seed) -> None:
    S = "seed"

    def raw():
        eq(len(seed.raw), 2000, "hypot:raw size")
        runs = {r for f in seed.raw for r in Seed.runs(f)}
        eq(runs, set(range(1000, 1020)), "runs")
        for f in seed.raw:
            m = f["metadata"]
            expect(m.get("core.data_tier") and m.get("core.file_type"), f"metadata of {f['name']}")
            expect(isinstance(m.get("core.runs"), list), "core.runs is a list")
            expect(f["size"] > 0 and f["checksums"].get("adler32"), "size and adler32")
        ts = [f["created_timestamp"] for f in seed.raw]
        span = max(ts) - min(ts)
        expect(25 * 86400 < span <= 31 * 86400, f"created span {span / 86400:.1f} days")
        eq(len(seed.mc) > 0 and len(seed.mc) < 200, True, f"hypot:mc small ({len(seed.mc)})")
    run(S, "hypot:raw has 2,000 files, runs 1000–1019, core.* metadata, sizes, checksums, 30 days", raw)

    def reco():
        expect(0 < len(seed.reco) < len(seed.raw), "reco is part of raw")
        raw_fids = {f["fid"] for f in seed.raw}
        for fid, parents in seed.reco_parents.items():
            expect(parents and set(parents) <= raw_fids, f"reco {fid} parents {parents}")
    run(S, "hypot:reco files are children of raw files", reco)

    def replicas():
        r = tb.rucio("poms")
        dids = [{"scope": "hypot", "name": f["name"]} for f in seed.raw]
        found = {}
        for i in range(0, len(dids), 1000):
            for rep in r.list_replicas(dids[i:i + 1000], all_states=True):
                found[rep["name"]] = set(rep["rses"])
        missing = len(seed.raw) - len(found)
        expect(0.01 * len(seed.raw) <= missing <= 0.04 * len(seed.raw), f"{missing} raw files without replica")
        eq(set().union(*found.values()), {"FNAL_DCACHE_DISK", "FNAL_ENSTORE"}, "replica RSEs")
    run(S, "~2% of raw have no replica; the rest are on disk and/or tape", replicas)


def metacat_read_checks(tb: Testbed, seed: Seed) -> None:
    S = "mql"
    mc = tb.mc()
    R = seed.raw
    raw_all = {f["fid"] for f in R}

    def q(text, **kw):
        return list(mc.query(text, **kw))

    def set_check(name, text, want):
        run(S, f"{name}: {text[:110]}", lambda: same_set(fids(q(text)), want, text))

    ts = sorted(f["created_timestamp"] for f in R)
    t1, t2 = utc(ts[500]), utc(ts[900])
    mid_size = sorted(f["size"] for f in R)[1000]
    some = [R[3], R[777], seed.mc[0]]
    run1004_reco = {f["fid"] for f in seed.reco if 1004 in Seed.runs(f)}
    run1004_raw = seed.raw_where(lambda f: 1004 in Seed.runs(f))

    cases = [
        ("dataset", "files from hypot:raw", raw_all),
        ("runs[any] =", "files from hypot:raw where core.runs[any] = 1005",
         seed.raw_where(lambda f: 1005 in Seed.runs(f))),
        ("scalar = on array", "files from hypot:raw where core.runs = 1005",
         seed.raw_where(lambda f: 1005 in Seed.runs(f))),
        ("in (...)", "files from hypot:raw where core.runs[any] in (1001, 1003)",
         seed.raw_where(lambda f: {1001, 1003} & set(Seed.runs(f)))),
        ("range", "files from hypot:raw where core.runs[any] in 1003:1005",
         seed.raw_where(lambda f: any(1003 <= r <= 1005 for r in Seed.runs(f)))),
        ("string =", "files from hypot:raw where core.run_type = cosmics",
         seed.raw_where(lambda f: f["metadata"].get("core.run_type") == "cosmics")),
        ("regex ~", "files from hypot:raw where core.run_type ~ 'cos'",
         seed.raw_where(lambda f: "cos" in f["metadata"].get("core.run_type", ""))),
        ("regex !~", "files from hypot:raw where core.run_type !~ 'cos'",
         seed.raw_where(lambda f: "cos" not in f["metadata"].get("core.run_type", ""))),
        ("present", "files from hypot:raw where core.file_type present", raw_all),
        ("not present", "files from hypot:raw where core.nothing present", set()),
        ("or", "files from hypot:raw where core.runs[any] = 1000 or core.runs[any] = 1019",
         seed.raw_where(lambda f: {1000, 1019} & set(Seed.runs(f)))),
        ("and/not", "files from hypot:raw where core.data_tier = raw and !(core.runs[any] in (1000, 1001))",
         seed.raw_where(lambda f: not {1000, 1001} & set(Seed.runs(f)))),
        ("timestamp strings", f"files from hypot:raw where created_timestamp >= '{t1}' and created_timestamp < '{t2}'",
         seed.raw_where(lambda f: ts[500] - 1 < f["created_timestamp"] and utc(f["created_timestamp"]) >= t1
                        and utc(f["created_timestamp"]) < t2)),
        ("size >", f"files from hypot:raw where size > {mid_size}", seed.raw_where(lambda f: f["size"] > mid_size)),
        ("size range", f"files from hypot:raw where size in 1000000000:2000000000",
         seed.raw_where(lambda f: 1e9 <= f["size"] <= 2e9)),
        ("name ~", "files from hypot:raw where name ~ '_r1007_'", seed.raw_where(lambda f: "_r1007_" in f["name"])),
        ("namespace =", "files from hypot:mc where namespace = hypot", {f["fid"] for f in seed.mc}),
        ("two datasets", "files from hypot:raw, hypot:mc", raw_all | {f["fid"] for f in seed.mc}),
        ("matching", "files from matching hypot:r*", raw_all | {f["fid"] for f in seed.reco}),
        ("missing dataset → empty", "files from hypot:no_such_dataset", set()),
        ("explicit DIDs", f"files hypot:{some[0]['name']}, hypot:{some[1]['name']}, hypot:{some[2]['name']}",
         {f["fid"] for f in some}),
        ("fids", f"fids {some[0]['fid']}, {some[2]['fid']}, 987654321", {some[0]["fid"], some[2]["fid"]}),
        ("union()", "union(files from hypot:mc, files from hypot:raw where core.runs[any] = 1000)",
         {f["fid"] for f in seed.mc} | seed.raw_where(lambda f: 1000 in Seed.runs(f))),
        ("[ , ] union", "[files from hypot:mc, files from hypot:raw where core.runs[any] = 1000]",
         {f["fid"] for f in seed.mc} | seed.raw_where(lambda f: 1000 in Seed.runs(f))),
        ("join()", "join(files from hypot:raw where core.runs[any] in 1000:1003, "
                   "files from hypot:raw where core.run_type = physics)",
         seed.raw_where(lambda f: any(1000 <= r <= 1003 for r in Seed.runs(f))
                        and f["metadata"]["core.run_type"] == "physics")),
        ("{ , } join", "{files from hypot:raw where core.runs[any] in 1000:1003, "
                       "files from hypot:raw where core.runs[any] in 1002:1008}",
         seed.raw_where(lambda f: any(1002 <= r <= 1003 for r in Seed.runs(f)))),
        ("minus", "(files from hypot:raw) - (files from hypot:raw where core.runs[any] in 1001:1019)",
         seed.raw_where(lambda f: 1000 in Seed.runs(f))),
        ("(Q) where", "(files from hypot:raw) where core.run_type = cosmics",
         seed.raw_where(lambda f: f["metadata"]["core.run_type"] == "cosmics")),
        ("date-only string", "files from hypot:raw where created_timestamp < '2025-12-20'",
         seed.raw_where(lambda f: f["created_timestamp"] < datetime(2025, 12, 20, tzinfo=timezone.utc).timestamp())),
        ("parents()", "parents(files from hypot:reco where core.runs[any] = 1004)",
         {p for fid in run1004_reco for p in seed.reco_parents[fid]}),
        ("children()", "children(files from hypot:raw where core.runs[any] = 1004)",
         {fid for fid, ps in seed.reco_parents.items() if set(ps) & run1004_raw}),
        ("named query", "files selected by hypot:run1000", seed.raw_where(lambda f: 1000 in Seed.runs(f))),
        ("hash filter", "filter hash(4, 2)(files from hypot:raw where core.runs[any] = 1003)",
         seed.raw_where(lambda f: 1003 in Seed.runs(f) and zlib.adler32(f["fid"].encode()) % 4 == 2)),
    ]
    for name, text, want in cases:
        set_check(name, text, want)

    run1002 = sorted((f for f in R if 1002 in Seed.runs(f)), key=ordered_key)

    def ordered():
        eq(fids(q("files from hypot:raw where core.runs[any] = 1002 ordered")), fids(run1002), "ordered")
        eq(fids(q("files from hypot:raw where core.runs[any] = 1002 ordered skip 10 limit 25")),
           fids(run1002[10:35]), "ordered skip limit")
        eq(fids(q("(files from hypot:raw where core.runs[any] = 1002) ordered skip 95 limit 10")),
           fids(run1002[95:105]), "(Q) ordered skip limit")
        eq(len(q("files from hypot:raw limit 7")), 7, "limit")
    run(S, "ordered / skip / limit / (Q) ordered skip K limit B (order = created_timestamp, fid)", ordered)

    def stride():
        got = fids(q("filter stride(3, 1)(files from hypot:raw where core.runs[any] = 1003 ordered)"))
        run1003 = sorted((f for f in R if 1003 in Seed.runs(f)), key=ordered_key)
        eq(got, fids(run1003[1::3]), "stride(3,1)")
    run(S, "filter stride(3, 1) keeps ordered positions 1, 4, 7, …", stride)

    def batched():
        full = sorted(R, key=ordered_key)
        got = fids(mc.query("files from hypot:raw", batch_size=300))
        eq(got, fids(full), "query(batch_size=300)")
        got = fids(mc.query("files from hypot:raw where core.runs[any] in (1001, 1002)", batch_size=64))
        eq(got, fids(sorted((f for f in R if {1001, 1002} & set(Seed.runs(f))), key=ordered_key)), "batched where")
    run(S, "client paging query(batch_size=B) sends (<q>) ordered skip K limit B and gets every file once", batched)

    def summary():
        for text, sel in (("files from hypot:raw", R),
                          ("files from hypot:raw where core.runs[any] = 1007", [f for f in R if 1007 in Seed.runs(f)])):
            got = list(mc.query(text, summary="count"))
            eq(got, [{"count": len(sel), "total_size": sum(f["size"] for f in sel)}], f"summary count of {text}")
        keys = list(mc.query("files from hypot:mc", summary="keys"))
        expect(keys and "core.runs" in (keys[0] if isinstance(keys[0], list) else keys), f"summary keys {keys}")
    run(S, "summary=count → {count, total_size}; summary=keys", summary)

    def record_shape():
        f = q("files from hypot:raw limit 1")[0]
        for k in ("fid", "namespace", "name", "retired", "created_timestamp", "size", "checksums"):
            expect(k in f, f"key {k} missing in {sorted(f)}")
        expect("metadata" not in f and "parents" not in f, f"metadata/provenance without asking: {sorted(f)}")
        g = q("files from hypot:reco limit 3", with_metadata=True, with_provenance=True)[0]
        expect(isinstance(g.get("metadata"), dict) and g["metadata"].get("core.data_tier"), "with_metadata")
        eq(g["parents"], [{"fid": p} for p in seed.reco_parents[g["fid"]]], "with_provenance parents")
        expect(isinstance(g.get("children"), list), "children list")
    run(S, "file records: key names; metadata only with_metadata; parents/children only with_provenance",
        record_shape)

    def failures():
        raises(BadRequestError, lambda: q("filter stride(3)(files from hypot:raw ordered)"), what="stride(m)")
        raises(BadRequestError, lambda: q("filter every_nth(3, 1)(files from hypot:raw)"), what="every_nth")
        raises(BadRequestError, lambda: q("filter limit(3)(files from hypot:raw)"), what="limit filter")
        raises(BadRequestError, lambda: q("files selected by hypot:run1000 where core.run_type = physics"),
               what="selected by … where")
        raises(BadRequestError, lambda: q("files selected by hypot:no_such_query"), what="unknown named query")
        raises(BadRequestError, lambda: q("files frum hypot:raw"), what="syntax error")
        # MetaCat's own converter (BasicFileQuery.addWhere builds Node("meta_and", a, b)) fails on a where
        # stacked on a query that has one: the real server answers 400 MQLSyntaxError too.
        raises(BadRequestError, lambda: q("(files from hypot:raw where core.runs[any] = 1000) where "
                                          "core.run_type = physics"), what="(Q where) where")
        raises(BadRequestError, lambda: q("files from raw", namespace="hypot"), what="namespace= not applied")
        for bad in ("files from hypot:raw where created_timestamp > datetime('2025-12-20')",
                    "files from hypot:raw where created_timestamp > date('2025-12-20')",
                    "files from hypot:raw where created_timestamp > 1766000000",
                    "files from hypot:raw where core.run_type ~* 'COS'"):
            raises(WebAPIError, lambda: q(bad), status=500, what=bad)
    run(S, "real-server failures of §8: stride(m)/every_nth/limit/selected-by-where/unknown query → 400; "
           "datetime()/date()/epoch/~* → 500", failures)

    def scalar_range_ignored():
        got = fids(q("files from hypot:mc where core.data_tier in 1:2"))
        same_set(got, [f["fid"] for f in seed.mc], "a range on a scalar metadata value is ignored")
    run(S, "range on a scalar metadata value is silently ignored (§8)", scalar_range_ignored)

    def file_reads():
        f = R[10]
        g = mc.get_file(did=f"hypot:{f['name']}")
        eq(g["fid"], f["fid"], "get_file(did)")
        expect("metadata" in g and "parents" in g, "get_file defaults with_metadata/with_provenance True")
        h = mc.get_file(fid=f["fid"], with_metadata=False, with_provenance=False, with_datasets=True)
        expect("metadata" not in h, "with_metadata=False")
        eq(h.get("datasets"), [{"namespace": "hypot", "name": "raw"}], "with_datasets")
        eq(mc.get_file(did="hypot:nope.root"), None, "missing file → None")
        got = mc.get_files([{"did": f"hypot:{R[1]['name']}"}, {"fid": R[2]["fid"]}, {"fid": "999999999"}])
        same_set(fids(got), [R[1]["fid"], R[2]["fid"]], "get_files")
    run(S, "data/file (did, fid, with_datasets, missing → None) and data/files", file_reads)

    def dataset_reads():
        d = mc.get_dataset("hypot:raw")
        for k in ("namespace", "name", "frozen", "monotonic", "metadata", "creator", "created_timestamp",
                  "file_count", "description"):
            expect(k in d, f"dataset key {k}")
        eq(d["file_count"], 2000, "file_count")
        eq(mc.get_dataset("hypot:nope"), None, "missing dataset → None")
        names = {f"{x['namespace']}:{x['name']}" for x in mc.list_datasets()}
        expect({"hypot:raw", "hypot:reco", "hypot:mc"} <= names, f"list_datasets {names}")
        c = mc.get_dataset_counts("hypot:raw")
        eq(c["file_count"], 2000, "dataset_counts")
        for k in ("dataset", "parent_count", "child_count", "superset_count", "subset_count"):
            expect(k in c, f"dataset_counts key {k}")
        ns = {n["name"] for n in mc.list_namespaces()}
        expect("hypot" in ns, "list_namespaces")
        eq(mc.get_namespace("hypot")["name"], "hypot", "get_namespace")
        nq = mc.get_named_query("hypot", "run1000")
        expect(nq and "1000" in nq["source"], f"named query {nq}")
        expect(any(x["name"] == "run1000" for x in mc.list_named_queries("hypot")), "list_named_queries")
        eq(mc.get_named_query("hypot", "nope"), None, "missing named query → None")
        dsq = {(d["namespace"], d["name"]) for d in mc.query("datasets matching hypot:r*")}
        eq(dsq, {("hypot", "raw"), ("hypot", "reco")}, "dataset query")
    run(S, "data/dataset, datasets, dataset_counts, dataset_files, namespaces, named queries", dataset_reads)


def metacat_write_checks(tb: Testbed, seed: Seed) -> None:
    S = "mc-writes"
    anon, poms, alice = tb.mc(), tb.mc("poms"), tb.mc("alice")
    tag = f"c{int(time.time())}"
    ds = f"hypot:conf_{tag}"

    def no_token():
        raises(WebAPIError, lambda: anon.declare_files("hypot:raw", [{"namespace": "hypot", "name": "x.root",
                                                                      "size": 1}]), status=401, what="declare")
        raises(WebAPIError, lambda: anon.create_dataset(ds), status=401, what="create_dataset")
    run(S, "writes without a token → 401", no_token)

    def create():
        d = poms.create_dataset(ds, description="conformance", metadata={"conf.tag": tag})
        eq((d["namespace"], d["name"]), ("hypot", f"conf_{tag}"), "create_dataset answer")
        raises(AlreadyExistsError, lambda: poms.create_dataset(ds), what="duplicate dataset")
        raises(PermissionDeniedError, lambda: alice.create_dataset(f"hypot:alice_{tag}"), what="alice in hypot")
        raises(NotFoundError, lambda: poms.create_dataset(f"nons_{tag}:x"), what="missing namespace")
    run(S, "create_dataset: answer, 409 duplicate, 403 non-owner, 404 namespace", create)

    parent = seed.raw[0]
    files = [{"namespace": "hypot", "name": f"conf_{tag}_{i}.root", "size": 1000 + i,
              "checksums": {"adler32": "0000000%d" % i}, "metadata": {"core.runs": [1000], "conf.index": i},
              "parents": [{"fid": parent["fid"]}]} for i in range(3)]

    def declare():
        out = poms.declare_files(ds, files)
        eq(len(out), 3, "declared")
        for o in out:
            expect(o.get("fid"), f"declare answer lacks fid: {o}")
        got = list(poms.query(f"files from {ds} where conf.index >= 1", with_provenance=True))
        eq(sorted(f["name"] for f in got), [files[1]["name"], files[2]["name"]], "query of declared")
        eq(got[0]["parents"], [{"fid": parent["fid"]}], "declared parents")
        kids = list(anon.query(f"children(fids {parent['fid']})"))
        expect({o["fid"] for o in out} <= set(fids(kids)), "declared files are children of their parent")
        raises(AlreadyExistsError, lambda: poms.declare_files(ds, files[:1]), what="redeclare")
        raises(BadRequestError, lambda: poms.declare_files(f"hypot:missing_{tag}", files[:1]), what="no dataset")
    run(S, "declare_files: answer with fids, lineage, 409 existing, 400 missing dataset", declare)

    def add_and_counts():
        n = poms.add_files(ds, file_list=[{"did": f"hypot:{seed.mc[0]['name']}"}, {"fid": seed.mc[1]["fid"]}])
        eq(n, 2, "add_files")
        eq(poms.get_dataset(ds)["file_count"], 5, "file_count after add")
        eq(len(list(anon.get_dataset_files(ds))), 5, "dataset_files after add")
        n = poms.add_files(ds, query="files from hypot:mc limit 3")
        expect(n in (1, 2, 3), f"add_files(query) added {n}")
    run(S, "add_files (file_list and query), dataset file_count", add_and_counts)

    def retire():
        did = f"hypot:{files[0]['name']}"
        r = poms.retire_file(did=did)
        eq(r.get("retired"), True, "retire_file answer")
        names = {f["name"] for f in anon.query(f"files from {ds}")}
        expect(files[0]["name"] not in names, "retired file still in query")
        names = {f["name"] for f in anon.query(f"files from {ds}", include_retired_files=True)}
        expect(files[0]["name"] in names, "include_retired_files")
        names = {f["name"] for f in anon.get_dataset_files(ds)}
        expect(files[0]["name"] not in names, "retired file in dataset_files")
        c = list(anon.query(f"files from {ds}", summary="count", include_retired_files=True))[0]["count"]
        eq(c, len(names) + 1, "summary count with include_retired_files")
    run(S, "retire_file; include_retired_files on query / count", retire)

    def named():
        poms.create_named_query("hypot", f"q_{tag}", f"files from {ds} where conf.index = 2")
        got = list(anon.query(f"files selected by hypot:q_{tag}"))
        eq([f["name"] for f in got], [files[2]["name"]], "named query result")
        raises(AlreadyExistsError, lambda: poms.create_named_query("hypot", f"q_{tag}", "files from hypot:mc"),
               what="duplicate named query")
    run(S, "create_named_query then files selected by it", named)

    def namespace_and_timestamps():
        raises(AlreadyExistsError, lambda: poms.create_namespace("hypot"), what="create_namespace of hypot")
        seeded = anon.get_file(did=f"hypot:{seed.raw[0]['name']}")
        expect(seeded["updated_timestamp"] is not None, "seeded file updated_timestamp")
        declared = anon.get_file(did=f"hypot:{files[1]['name']}")
        expect(declared["updated_timestamp"] is not None
               and declared["updated_timestamp"] >= declared["created_timestamp"], f"declared file {declared}")
    run(S, "create_namespace of an existing namespace → 409 AlreadyExistsError; get_file updated_timestamp set",
        namespace_and_timestamps)

    def save_as():
        out = list(poms.query("files from hypot:mc limit 4", save_as=f"hypot:saved_{tag}"))
        eq(len(out), 4, "save_as results")
        eq(poms.get_dataset(f"hypot:saved_{tag}")["file_count"], 4, "saved dataset")
    run(S, "query(save_as=) creates a dataset with the results", save_as)


def dd_checks(tb: Testbed, seed: Seed) -> None:
    S = "dd"
    poms, alice, bob = tb.dd("poms", "wp"), tb.dd("alice", "wa"), tb.dd("bob", "wb")
    anon = tb.dd(None)
    rucio = tb.rucio("poms")
    reps = {}
    raw_dids = [{"scope": "hypot", "name": f["name"]} for f in seed.raw]
    for i in range(0, len(raw_dids), 1000):
        for rep in rucio.list_replicas(raw_dids[i:i + 1000], all_states=True):
            reps[rep["name"]] = set(rep["rses"])
    disk = [f for f in seed.raw if "FNAL_DCACHE_DISK" in reps.get(f["name"], ())]
    tape_only = [f for f in seed.raw if reps.get(f["name"]) == {"FNAL_ENSTORE"}]
    no_rep = [f for f in seed.raw if f["name"] not in reps]
    files12 = [{"namespace": "hypot", "name": f["name"], "attributes": {"size": f["size"]}} for f in disk[:6]]
    state = {}

    project_keys = {"project_id", "owner", "state", "retry_count", "attributes", "created_timestamp",
                    "ended_timestamp", "active", "query", "worker_timeout", "idle_timeout", "users", "roles"}
    handle_keys = {"project_id", "namespace", "name", "state", "worker_id", "attempts", "attributes",
                   "reserved_since"}

    def create():
        t0 = time.time()
        p = alice.create_project(files12, common_attributes={"campaign": "conf", "size": -1},
                                 project_attributes={"campaign_stage_id": 12, "poms": True},
                                 query="files from hypot:raw", worker_timeout=600, users=["bob"])
        state["p"] = p
        eq(set(p), project_keys | {"file_handles"}, "project keys")
        eq(p["owner"], "alice", "owner")
        eq(p["state"], "active", "state")
        eq(p["active"], True, "active")
        eq(p["attributes"], {"campaign_stage_id": 12, "poms": True}, "attributes")
        eq(p["worker_timeout"], 600.0, "worker_timeout")
        eq(p["idle_timeout"], 72 * 3600.0, "client default idle_timeout")
        eq(p["users"], ["bob"], "users")
        eq(p["query"], "files from hypot:raw", "query")
        expect(abs(p["created_timestamp"] - t0) < 60, "created_timestamp is now")
        eq(p["ended_timestamp"], None, "ended_timestamp")
        eq(len(p["file_handles"]), 6, "handles")
        h = p["file_handles"][0]
        eq(set(h), handle_keys, "handle keys (no replicas in create_project answer)")
        eq((h["state"], h["attempts"], h["worker_id"]), ("initial", 0, None), "initial handle")
        eq(h["attributes"], {"campaign": "conf", "size": files12[0]["attributes"]["size"]}, "merged attributes")
        q = poms.create_project(["hypot:" + disk[6]["name"], "hypot:" + disk[7]["name"]],
                                project_attributes={"campaign_stage_id": "12"})
        state["q"] = q
        eq([h["name"] for h in q["file_handles"]], [disk[6]["name"], disk[7]["name"]], "string DIDs")
    run(S, "create_project: JSON keys, owner, attributes, timeouts, users, merged file attributes", create)
    if "p" not in state:
        return
    pid, qid = state["p"]["project_id"], state["q"]["project_id"]

    def get_project():
        g = anon.get_project(pid)
        eq(set(g), project_keys | {"file_handles"}, "get_project default keys (with_files=True)")
        expect(all("replicas" not in h for h in g["file_handles"]), "replicas without with_replicas")
        g = anon.get_project(pid, with_files=False)
        eq(set(g), project_keys, "with_files=False has no file_handles")
        g = anon.get_project(pid, with_files=False, with_replicas=True)
        r = g["file_handles"][0]["replicas"]
        expect("FNAL_DCACHE_DISK" in r, f"with_replicas {r}")
        eq(set(r["FNAL_DCACHE_DISK"]), {"name", "namespace", "path", "rse", "url", "urls", "preference",
                                        "available", "rse_available"}, "replica keys")
        eq(anon.get_project(987654), None, "missing project → None")
        h = anon.get_handle(pid, "hypot", disk[0]["name"])
        eq(h["name"], disk[0]["name"], "get_handle")
        eq(anon.get_handle(pid, "hypot", "nope"), None, "get_handle missing")
    run(S, "get_project defaults (with_files=True, no replicas), with_files=False, with_replicas, 404 → None",
        get_project)

    def list_projects():
        mine = {p["project_id"] for p in alice.list_projects()}
        expect(pid in mine and qid not in mine, f"alice default list (own projects only) {mine}")
        mine = {p["project_id"] for p in poms.list_projects()}
        expect(qid in mine and pid not in mine, "poms default list")
        every = {p["project_id"] for p in bob.list_projects(owner="all")}
        expect({pid, qid} <= every, "owner=all")
        got = [p["project_id"] for p in bob.list_projects(owner="all", attributes={"campaign_stage_id": 12})]
        eq(got, [pid], "attributes {campaign_stage_id: 12} (type-exact)")
        got = [p["project_id"] for p in bob.list_projects(owner="all", attributes={"campaign_stage_id": "12"})]
        eq(got, [qid], 'attributes {"campaign_stage_id": "12"}')
        lp = bob.list_projects(owner="alice", with_files=False)
        expect(lp and all("file_handles" not in p for p in lp), "with_files=False")
        lp = bob.list_projects(owner="alice")
        expect(lp and all("file_handles" in p for p in lp), "default with_files=True")
        raises(DDWebAPIError, lambda: anon.list_projects(), status=401, what="list_projects unauthenticated")
    run(S, "list_projects: default owner = caller, state=active, owner=all, attributes type-exact, 401 anon",
        list_projects)

    def search():
        got = [p["project_id"] for p in bob.search_projects("campaign_stage_id = 12")]
        eq(got, [pid], "search campaign_stage_id = 12")
        got = {p["project_id"] for p in bob.search_projects("campaign_stage_id = '12'")}
        eq(got, {qid}, "search '12'")
        got = {p["project_id"] for p in bob.search_projects("campaign_stage_id present", owner="poms")}
        expect(qid in got and pid not in got, "owner filter")
        got = bob.search_projects("campaign_stage_id = 12", with_files=False)
        expect(got and "file_handles" not in got[0], "with_files=False")
        got = anon.search_projects("poms = true and campaign_stage_id in (11, 12)")
        eq([p["project_id"] for p in got], [pid], "and / in () without auth")
        got = {p["project_id"] for p in bob.search_projects("owner = 'alice'", state="all")}
        expect(pid in got and qid not in got, f"owner = 'alice' {got}")
        got = {p["project_id"] for p in bob.search_projects("state = 'active' and campaign_stage_id present",
                                                            state="all")}
        expect({pid, qid} <= got, f"state = 'active' {got}")
        eq(bob.search_projects("state = 'cancelled' and owner = alice and poms = true", state="all"), [],
           "state = 'cancelled' (none yet)")
    run(S, 'search_projects("campaign_stage_id = 12"), ("owner = \'alice\'"), ("state = \'active\'") and friends',
        search)

    def worker_flow():
        h = alice.next_file(pid, stagger=0, timeout=5, worker_id="wa")
        expect(isinstance(h, dict), f"next_file returned {h!r}")
        for k in handle_keys | {"replicas", "project_attributes"}:
            expect(k in h, f"next_file handle lacks {k}")
        eq(h["state"], "reserved", "reserved")
        eq(h["worker_id"], "wa", "worker_id")
        eq(h["attempts"], 1, "attempts")
        eq(h["project_attributes"], {"campaign_stage_id": 12, "poms": True}, "project_attributes")
        r = h["replicas"]
        eq(set(r), {"FNAL_DCACHE_DISK"}, "only available (disk) replicas; tape is unavailable until pinned")
        expect(r["FNAL_DCACHE_DISK"]["available"] and r["FNAL_DCACHE_DISK"]["rse_available"], "replica flags")
        expect("proximity" in r["FNAL_DCACHE_DISK"], "proximity")
        done = alice.file_done(pid, f"hypot:{h['name']}", worker_id="wa")
        eq((done["state"], done["worker_id"]), ("done", None), "file_done answer (2.0.3 done() clears the worker)")
        eq(set(done), handle_keys, "release answer keys (no replicas)")
        h2 = alice.next_file(pid, stagger=0, timeout=5, worker_id="wa")
        f = alice.file_failed(pid, f"hypot:{h2['name']}", worker_id="wa")
        eq((f["state"], f["worker_id"]), ("initial", None), "file_failed(retry=True)")
        h3 = alice.next_file(pid, stagger=0, timeout=5, worker_id="wa")
        expect(h3["name"] != h2["name"], "retried file goes to the back (lowest attempts first)")
        f = alice.file_failed(pid, f"hypot:{h3['name']}", retry=False, worker_id="wa")
        eq(f["state"], "failed", "file_failed(retry=False)")
        state["failed"], state["failed_attempts"] = h3["name"], f["attempts"]
    run(S, "next_file dict (replicas filtered, project_attributes), file_done, file_failed retry True/False",
        worker_flow)

    def permissions():
        h = bob.next_file(pid, stagger=0, timeout=5, worker_id="wb")
        expect(isinstance(h, dict), f"listed user bob may next_file: {h!r}")
        raises(DDWebAPIError, lambda: bob.file_done(pid, f"hypot:{h['name']}", worker_id="wb"), status=403,
               what="listed user file_done")
        raises(DDWebAPIError, lambda: alice.file_done(pid, f"hypot:{h['name']}", worker_id="other"), status=403,
               what="wrong worker_id")
        raises(DDWebAPIError, lambda: alice.file_done(pid, f"hypot:{disk[5]['name']}", worker_id="wa"), status=403,
               what="never reserved (so not by this worker)")
        eq(alice.file_done(pid, f"hypot:{h['name']}", worker_id="wb")["state"], "done", "owner releases bob's")
        raises(DDWebAPIError, lambda: alice.file_done(pid, f"hypot:{h['name']}", worker_id="wb"), status=403,
               what="second file_done of a released handle")
        raises(DDWebAPIError, lambda: alice.file_failed(pid, f"hypot:{h['name']}", worker_id="wb"), status=403,
               what="file_failed of a released handle")
        eq(bob.next_file(qid, stagger=0, timeout=1, worker_id="wb"), False, "not authorized → next_file False")
    run(S, "users may next_file but not release (403); wrong worker 403; a second release 403; 403 → False",
        permissions)

    def quirks_500():
        raises(DDWebAPIError, lambda: alice.file_done(pid, "hypot:not_in_this_project.root", worker_id="wa"),
               status=500, what="release of a handle not in the project (§8)")
        raises(DDWebAPIError, lambda: bob.search_projects("campaign_stage_id = = 12"), status=500,
               what="malformed search query (§8)")
        raises(DDWebAPIError, lambda: bob.search_projects("id = 1"), status=500,
               what="object attribute other than owner/state in search (2.0.3)")
        got = {p["project_id"] for p in bob.search_projects("campaign_stage_id in 100:200")}
        expect(pid in got, "range on a plain attribute is ignored (2.0.3 compiles it to true)")
        lp = alice.list_projects(with_replicas=True)
        expect(lp and "replicas" in lp[0]["file_handles"][0], "list_projects(with_replicas=True)")
    run(S, "DD 2.0.3 quirks: release of unknown handle 500, bad search 500, range ignored; with_replicas",
        quirks_500)

    def finish():
        while True:
            h = alice.next_file(pid, stagger=0, timeout=2, worker_id="wa")
            if not isinstance(h, dict):
                break
            alice.file_done(pid, f"hypot:{h['name']}", worker_id="wa")
        eq(h, False, "next_file after every handle is final")
        p = alice.get_project(pid, with_files=False)
        eq((p["state"], p["active"]), ("failed", False), "project failed (one handle failed)")
        expect(p["ended_timestamp"], "ended_timestamp set")
        eq(alice.list_projects(), [], "ended project leaves the default (active) list")
        expect(any(x["project_id"] == pid for x in alice.list_projects(state="failed")), "state=failed")
        expect(any(x["project_id"] == pid for x in alice.list_projects(state=None)), "state=None lists all states")
        eq(alice.list_projects(state="all"), [], "state=all: the 2.0.3 server compares by equality (ddisp loops)")
    run(S, "project ends failed/done only through release; next_file then returns False", finish)

    def restart():
        p = alice.restart_handles(pid, failed=True)
        expect("file_handles" in p and "replicas" in p["file_handles"][0], "restart answer has handles+replicas")
        eq((p["state"], p["ended_timestamp"]), ("active", None), "re-activated")
        h = [x for x in p["file_handles"] if x["name"] == state["failed"]][0]
        eq((h["state"], h["attempts"], h["worker_id"]), ("initial", state["failed_attempts"], None),
           "restarted handle keeps attempts, loses worker")
        h = alice.next_file(pid, stagger=0, timeout=5, worker_id="wa")
        eq(h["name"], state["failed"], "restarted file reserved again")
        alice.file_done(pid, f"hypot:{h['name']}", worker_id="wa")
        eq(alice.get_project(pid, with_files=False)["state"], "done", "done after the retry")
        p = alice.restart_handles(pid, handles=[f"hypot:{disk[0]['name']}"])
        eq(p["state"], "active", "restart by DID re-activates")
        raises(DDWebAPIError, lambda: bob.restart_handles(pid, all=True), status=403, what="restart by non-owner")
    run(S, "restart_handles (states / DIDs): handles initial, attempts kept, project active again", restart)

    def copy_cancel_delete():
        c = bob.copy_project(pid, common_attributes={"copied": 1}, project_attributes={"campaign_stage_id": 13},
                             worker_timeout="10m")
        eq(c["owner"], "bob", "copy owner = caller")
        eq(c["users"], [], "copy drops users")
        eq(c["attributes"], {"campaign_stage_id": 13, "poms": True}, "copied + updated attributes")
        eq(c["worker_timeout"], 600.0, "worker_timeout '10m'")
        eq(c["idle_timeout"], 72 * 3600.0, "idle_timeout default = original")
        eq(c["query"], "files from hypot:raw", "query copied")
        expect(all(h["state"] == "initial" and h["attributes"].get("copied") == 1 and h["attempts"] == 0
                   for h in c["file_handles"]), "copied handles fresh with file_attributes")
        eq(len(c["file_handles"]), 6, "copied handles")
        x = bob.cancel_project(c["project_id"])
        eq(x["state"], "cancelled", "cancel")
        expect(x["ended_timestamp"], "cancel sets ended_timestamp")
        eq(bob.next_file(c["project_id"], stagger=0, timeout=1, worker_id="wb"), False, "next_file on cancelled")
        eq(bob.cancel_project(c["project_id"])["ended_timestamp"], x["ended_timestamp"], "second cancel keeps end")
        raises(DDWebAPIError, lambda: alice.cancel_project(c["project_id"]), status=403, what="cancel non-owner")
        x = bob.activate_project(c["project_id"])
        eq(x["state"], "active", "activate")
        expect(isinstance(bob.next_file(c["project_id"], stagger=0, timeout=1, worker_id="wb"), dict), "active")
        raises(DDWebAPIError, lambda: alice.delete_project(c["project_id"]), status=403, what="delete non-owner")
        eq(bob.delete_project(c["project_id"]), None, "delete answer null")
        eq(bob.get_project(c["project_id"]), None, "deleted")
        x = poms.cancel_project(qid)                       # admin or owner
        eq(x["state"], "cancelled", "owner cancel")
    run(S, "copy_project (new owner, users dropped, attrs merged, '10m'), cancel/activate/delete", copy_cancel_delete)

    def copy_missing():
        try:
            r = bob.copy_project(987654)
        except DDWebAPIError as e:
            eq(e.StatusCode, 404, "copy of a missing project")
            return
        eq(r, None, "copy of a missing project (POST 404 → None)")
    run(S, "copy_project of a missing project → 404", copy_missing)

    def retry_and_timeout():
        p = poms.create_project([f"hypot:{disk[20]['name']}"], worker_timeout=30, idle_timeout=None,
                                project_attributes={"kind": "timeout"})
        xid = p["project_id"]
        h = poms.next_file(xid, stagger=0, timeout=5, worker_id="wp")
        expect(isinstance(h, dict), "reserved")
        t0 = time.time()
        eq(poms.next_file(xid, stagger=0, timeout=2, worker_id="wp"), True, "nothing free → True after timeout")
        expect(time.time() - t0 >= 1.5, "next_file waited for its timeout")
        tb.hook("tick", seconds=31)
        g = poms.get_project(xid)
        hh = g["file_handles"][0]
        eq((hh["state"], hh["worker_id"], hh["attributes"].get("timeouts")), ("initial", None, 1),
           "worker timeout → initial, timeouts=1")
        eq(g["state"], "active", "worker timeout does not end the project")
        p2 = poms.create_project([f"hypot:{disk[21]['name']}"], worker_timeout=30,
                                 project_attributes={"retry_on_timeout": True})
        poms.next_file(p2["project_id"], stagger=0, timeout=5, worker_id="wp")
        tb.hook("tick", seconds=31)
        g2 = poms.get_project(p2["project_id"])
        eq((g2["file_handles"][0]["state"], g2["state"]), ("failed", "active"),
           "JSON true retry_on_timeout → failed; project stays active")
        p3 = poms.create_project([f"hypot:{disk[22]['name']}"], idle_timeout=100)
        tb.hook("tick", seconds=101)
        eq(poms.get_project(p3["project_id"])["state"], "abandoned", "idle timeout → abandoned")
        expect(all(x["project_id"] != p3["project_id"] for x in poms.list_projects(state=None)),
               "abandoned excluded by default not_state")
        h = poms.next_file(p3["project_id"], stagger=0, timeout=5, worker_id="wp")
        expect(isinstance(h, dict), "next_file re-activates an abandoned project")
        eq(poms.get_project(p3["project_id"])["state"], "active", "re-activated")
    run(S, "next_file True on timeout; tick: worker timeout (retry_on_timeout), idle timeout → abandoned",
        retry_and_timeout)

    def replicas_and_rses():
        p = poms.create_project([f"hypot:{no_rep[0]['name']}"])
        xid = p["project_id"]
        eq(poms.next_file(xid, stagger=0, timeout=1, worker_id="wp"), True, "file without replica → retry")
        rucio.add_replicas("FNAL_DCACHE_DISK", [{"scope": "hypot", "name": no_rep[0]["name"],
                                                 "bytes": no_rep[0]["size"], "adler32": "01234567"}])
        h = poms.next_file(xid, stagger=0, timeout=3, worker_id="wp")
        expect(isinstance(h, dict) and "FNAL_DCACHE_DISK" in h["replicas"],
               f"replica added in Rucio visible to DD at once: {h!r}")
        p = poms.create_project([f"hypot:{tape_only[0]['name']}"])
        h = poms.next_file(p["project_id"], stagger=0, timeout=3, worker_id="wp")
        expect(isinstance(h, dict), "tape-only file is reservable (replica flag ignored)")
        eq(h["replicas"], {}, "…and comes back with replicas {} (tape unavailable until pinned)")
        p = poms.create_project([f"hypot:{disk[30]['name']}"])
        x = poms.set_rse_availability("FNAL_DCACHE_DISK", False)
        eq(x["is_available"], False, "set_rse_availability answer")
        try:
            raises(DDWebAPIError, lambda: alice.set_rse_availability("FNAL_DCACHE_DISK", True), status=403,
                   what="non-admin set_rse_availability")
            if reps[disk[30]["name"]] == {"FNAL_DCACHE_DISK"}:
                eq(poms.next_file(p["project_id"], stagger=0, timeout=1, worker_id="wp"), True,
                   "disk-only file with the disk RSE unavailable → True")
        finally:
            poms.set_rse_availability("FNAL_DCACHE_DISK", True)
        rse = poms.get_rse("FNAL_ENSTORE")
        eq(set(rse), {"name", "description", "is_available", "is_tape", "pin_url", "poll_url", "remove_prefix",
                      "add_prefix", "pin_prefix", "preference", "is_enabled", "type"}, "RSE keys")
        eq(poms.get_rse("NOPE"), None, "get_rse missing → None")
        eq(poms.get_file("hypot", disk[0]["name"]), None, "deprecated get_file → None (no endpoint)")
        hs = poms.list_handles(pid, state="done")
        expect(hs and all(h["state"] == "done" for h in hs), "list_handles(state)")
    run(S, "Rucio replicas reach DD immediately; tape-only; RSE availability; get_rse; deprecated calls",
        replicas_and_rses)

    def rse_hook():
        p = poms.create_project([f"hypot:{disk[40]['name']}", f"hypot:{disk[41]['name']}"])
        tb.hook("rse", name="FNAL_DCACHE_DISK", available="no")
        tb.hook("rse", name="FNAL_ENSTORE", available="no")
        try:
            eq(poms.next_file(p["project_id"], stagger=0, timeout=1, worker_id="wp"), True, "all RSEs down → True")
        finally:
            tb.hook("rse", name="FNAL_DCACHE_DISK", available="yes")
            tb.hook("rse", name="FNAL_ENSTORE", available="yes")
        expect(isinstance(poms.next_file(p["project_id"], stagger=0, timeout=2, worker_id="wp"), dict), "back")
    run(S, "/_testbed/rse availability hook gates next_file", rse_hook)

    def virtual():
        p = poms.create_project([f"hypot:{no_rep[1]['name']}"], project_attributes={"virtual": True})
        h = poms.next_file(p["project_id"], stagger=0, timeout=2, worker_id="wp")
        expect(isinstance(h, dict) and h["replicas"] == {}, f"virtual project ignores replicas: {h!r}")
    run(S, "virtual project: any handle reservable, replicas {}", virtual)


def concurrency_checks(tb: Testbed, seed: Seed) -> None:
    S = "concurrency"
    n_files = 240

    def threads():
        poms = tb.dd("poms")
        p = poms.create_project([f"hypot:{f['name']}" for f in seed.raw[:n_files]],
                                project_attributes={"virtual": True, "kind": "threads"})
        pid = p["project_id"]
        got: list[tuple[str, str]] = []
        errors: list[str] = []
        lock = threading.Lock()

        def worker(i: int) -> None:
            c = tb.dd("poms", worker=f"thr{i}")
            try:
                while True:
                    h = c.next_file(pid, stagger=0, timeout=10)
                    if not isinstance(h, dict):
                        break
                    with lock:
                        got.append((h["name"], f"thr{i}"))
                    c.file_done(pid, f"hypot:{h['name']}")
            except Exception as e:             # noqa: BLE001
                errors.append(f"{type(e).__name__}: {e}")
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        eq(errors, [], "worker errors")
        names = [n for n, _ in got]
        eq(len(names), n_files, "reservations")
        eq(len(set(names)), n_files, "no handle reserved twice")
        g = poms.get_project(pid)
        eq(g["state"], "done", "project done")
        expect(all(h["attempts"] == 1 and h["state"] == "done" for h in g["file_handles"]), "attempts 1 each")
        expect(len({w for _, w in got}) >= 4, f"work spread over threads: {len({w for _, w in got})}")
    run(S, "8 threads next_file/file_done on one project: no handle reserved twice, project done", threads)

    def processes():
        poms = tb.dd("poms")
        p = poms.create_project([f"hypot:{f['name']}" for f in seed.raw[n_files:n_files + 120]],
                                project_attributes={"virtual": True, "kind": "processes"})
        pid = p["project_id"]
        lib = os.path.join(WORK, "proc-lib")
        DataDispatcherClient(server_url=tb.dd_url, worker_id="x", token_library=lib).login_password("poms", "poms")
        code = ("import sys, json\nfrom data_dispatcher.api import DataDispatcherClient\n"
                f"c = DataDispatcherClient(server_url={tb.dd_url!r}, worker_id=sys.argv[1], token_library={lib!r})\n"
                "out = []\n"
                "while True:\n"
                f"    h = c.next_file({pid}, stagger=0, timeout=10)\n"
                "    if not isinstance(h, dict): break\n"
                "    out.append(h['name'])\n"
                f"    c.file_done({pid}, 'hypot:' + h['name'])\n"
                "print(json.dumps(out))\n")
        procs = [subprocess.Popen([sys.executable, "-c", code, f"proc{i}"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, cwd=WORK) for i in range(4)]
        names = []
        for pr in procs:
            out, err = pr.communicate(timeout=180)
            eq(pr.returncode, 0, f"worker process failed: {err[-500:]}")
            names += json.loads(out.strip().splitlines()[-1])
        eq(len(names), 120, "reservations")
        eq(len(set(names)), 120, "no handle reserved twice across processes")
        eq(poms.get_project(pid, with_files=False)["state"], "done", "done")
    run(S, "4 worker processes on one project: no handle reserved twice", processes)


def rucio_checks(tb: Testbed, seed: Seed) -> None:
    S = "rucio"
    from rucio.common.exception import (DataIdentifierNotFound, InvalidObject, RSENotFound, ScopeNotFound,
                                        Duplicate)
    r = tb.rucio("poms")
    scope = f"conf{int(time.time()) % 100000}"

    def scope_and_replicas():
        r.add_scope("poms", scope)
        raises(Duplicate, lambda: r.add_scope("poms", scope), what="duplicate scope")
        files = [{"scope": scope, "name": f"f{i}.root", "bytes": 10 + i, "adler32": "0000000a"} for i in range(3)]
        eq(r.add_replicas("FNAL_DCACHE_DISK", files), True, "add_replicas")
        r.add_replicas("FNAL_ENSTORE", files[:1])
        got = {x["name"]: x for x in r.list_replicas([{"scope": scope, "name": f["name"]} for f in files])}
        eq(set(got), {"f0.root", "f1.root", "f2.root"}, "list_replicas names")
        x = got["f0.root"]
        for k in ("scope", "name", "bytes", "md5", "adler32", "pfns", "rses", "states"):
            expect(k in x, f"replica record key {k}")
        eq(set(x["rses"]), {"FNAL_DCACHE_DISK", "FNAL_ENSTORE"}, "both RSEs")
        eq(x["bytes"], 10, "bytes")
        pfn = x["rses"]["FNAL_DCACHE_DISK"][0]
        eq(x["pfns"][pfn]["rse"], "FNAL_DCACHE_DISK", "pfns entry")
        one = list(r.list_replicas([{"scope": scope, "name": "f0.root"}], rse_expression="FNAL_ENSTORE"))
        eq(set(one[0]["rses"]), {"FNAL_ENSTORE"}, "rse_expression filter")
        scheme = pfn.split("://")[0]
        eq(len(list(r.list_replicas([{"scope": scope, "name": "f0.root"}], schemes=[scheme]))[0]["pfns"]) >= 1,
           True, "schemes filter keeps matching")
        eq(list(r.list_replicas([{"scope": scope, "name": "f0.root"}], schemes=["gsiftp"]))[0]["pfns"], {},
           "schemes filter drops others")
        eq(list(r.list_replicas([{"scope": scope, "name": "nothing.root"}])), [], "unknown DID → nothing")
        raises(RSENotFound, lambda: r.add_replicas("NO_SUCH_RSE", files), what="unknown RSE")
        raises(ScopeNotFound, lambda: r.add_replicas("FNAL_DCACHE_DISK", [{"scope": "noscope", "name": "x",
                                                                           "bytes": 1}]), what="unknown scope")
        raises(InvalidObject, lambda: list(r.list_replicas([{"scope": "hypot", "name": f"x{i}"}
                                                            for i in range(1001)])), what=">1000 DIDs")
    run(S, "add_scope, add_replicas, list_replicas (NDJSON, schemes, rse_expression), §8 errors",
        scope_and_replicas)

    def dids():
        d = r.get_did(scope, "f1.root")
        eq((d["type"], d["bytes"]), ("FILE", 11), "get_did file")
        raises(DataIdentifierNotFound, lambda: r.get_did(scope, "nothing.root"), what="get_did unknown")
        eq(r.add_dataset(scope, "ds1"), True, "add_dataset")
        eq(r.attach_dids(scope, "ds1", [{"scope": scope, "name": "f1.root"}, {"scope": scope, "name": "f2.root"}]),
           True, "attach_dids")
        eq(sorted(f["name"] for f in r.list_files(scope, "ds1")), ["f1.root", "f2.root"], "list_files")
        eq(sorted(f["name"] for f in r.list_content(scope, "ds1")), ["f1.root", "f2.root"], "list_content")
        g = r.get_did(scope, "ds1")
        eq((g["type"], g["bytes"], g["length"]), ("DATASET", None, None), "get_did dataset (41.5.1: null sizes)")
        eq(sorted(x["name"] for x in r.list_replicas([{"scope": scope, "name": "ds1"}])), ["f1.root", "f2.root"],
           "list_replicas expands a dataset")
        eq(list(r.list_dids(scope, [{"name": "ds*"}], did_type="dataset")), ["ds1"], "list_dids")
        raw = r.get_did("hypot", "raw")
        eq((raw["type"], raw["bytes"], raw["length"]), ("DATASET", None, None), "seeded Rucio dataset hypot:raw")
        n_raw = sum(1 for _ in r.list_files("hypot", "raw"))
        expect(0.95 * 2000 <= n_raw <= 2000, f"hypot:raw files {n_raw}")
        h = {f["name"] for f in r.list_files("hypot", "mc")}
        eq(h, {f["name"] for f in seed.mc}, "hypot:mc files")
    run(S, "get_did (dataset bytes/length null), add_dataset, attach_dids, list_files, list_content, list_dids; "
        "seeded datasets", dids)

    def headers():
        from rucio.common.exception import RucioException
        try:
            r.get_did(scope, "nothing.root")
        except RucioException as e:
            expect("DataIdentifierNotFound" in type(e).__name__, "exception class from ExceptionClass header")
            expect("nothing.root" in str(e), f"ExceptionMessage carried: {e}")
    run(S, "errors carry ExceptionClass / ExceptionMessage (client raises the named class)", headers)


def error_page_checks(tb: Testbed) -> None:
    """Unexpected server errors of MetaCat and DD: webpie's "Application error" page (500, text/html)."""
    S = "error-pages"

    def page(e, what: str, exception: str) -> None:
        eq(e.StatusCode, 500, what)
        body = e.Body or ""
        for want in ("<h2>Application error</h2>", "<h3>", "<pre>Traceback (most recent call last):",
                     "/usr/lib/python3/site-packages/", exception):
            expect(want in body, f"{what}: page lacks {want!r}: {body[:300]}")

    def metacat():
        e = raises(WebAPIError, lambda: tb.mc().query("files from hypot:raw where created_timestamp > 5"),
                   status=500, what="PostgreSQL error")
        page(e, "MetaCat query failing in PostgreSQL", "psycopg2")
        tb.hook("fault", service="mc", status=500, count=1, message="OperationalError: connection lost")
        e = raises(WebAPIError, lambda: tb.mc().get_dataset("hypot:raw"), status=500, what="injected 500")
        page(e, "MetaCat injected 500", "OperationalError: connection lost")
    run(S, "MetaCat: uncaught errors and injected 500s are webpie Application error pages", metacat)

    def dd():
        c = tb.dd("poms", "we")
        pid = c.create_project(["hypot:e.root"], project_attributes={"virtual": True})["project_id"]
        e = raises(DDWebAPIError, lambda: c.file_done(pid, "hypot:not_there.root"), status=500, what="crash")
        page(e, "DD release of a handle not in the project", "AttributeError")
        tb.hook("fault", service="dd", status=500, count=1)
        e = raises(DDWebAPIError, lambda: c.get_project(pid), status=500, what="injected 500")
        page(e, "DD injected 500", "injected fault: HTTP 500")
    run(S, "DD: uncaught errors and injected 500s are webpie Application error pages", dd)

    def rucio():
        from rucio.common.exception import DataIdentifierNotFound
        raises(DataIdentifierNotFound, lambda: tb.rucio("poms").get_did("hypot", "nothing"), what="Rucio error")
    run(S, "Rucio keeps its ExceptionClass errors", rucio)


def hooks_checks(tb: Testbed) -> None:
    """Runs last on the main testbed: reset and seed wipe its state."""
    S = "hooks"

    def tick_clock():
        a = tb.hook("tick", seconds=0)["now"]
        b = tb.hook("tick", seconds=3600)["now"]
        expect(3599 < b - a < 3700, f"tick advanced {b - a}")
        c = tb.dd("poms")                              # tokens are still accepted after the clock moved
        expect(isinstance(c.list_projects(with_files=False), list), "login after tick")
    run(S, "/_testbed/tick?seconds=N advances the clock; logins keep working", tick_clock)

    def seed_and_reset():
        dd = tb.dd("poms")
        dd.create_project(["hypot:x"], project_attributes={"before": "reset"})
        tb.hook("seed", name="demo", files=100)
        mc = tb.mc()
        eq(mc.get_dataset("hypot:raw")["file_count"], 100, "seed?files=100")
        eq(list(mc.query("files from hypot:raw", summary="count"))[0]["count"], 100, "count after reseed")
        tb.hook("reset")
        eq(mc.get_dataset("hypot:raw")["file_count"], 2000, "reset restores the start seed")
        dd = tb.dd("poms")                             # accounts are re-created: log in again
        eq(dd.list_projects(owner="all", state=None, not_state=None, with_files=False), [], "projects gone")
    run(S, "/_testbed/seed?files=N and /_testbed/reset", seed_and_reset)


def perf_checks(n: int, limits: dict) -> None:
    S = f"perf-{n // 1000}k"
    try:
        tb = Testbed("--files", str(n))
    except Exception as e:                     # noqa: BLE001
        run(S, f"start with --files {n}", lambda: (_ for _ in ()).throw(e))
        return
    try:
        run(S, f"startup with --files {n} in < {limits['startup']} s ({tb.startup:.1f} s)",
            lambda: expect(tb.startup < limits["startup"], f"{tb.startup:.1f} s"))
        mc = tb.mc()

        def count():
            t0 = time.perf_counter()
            got = list(mc.query("files from hypot:raw", summary="count"))[0]
            dt = time.perf_counter() - t0
            eq(got["count"], n, "count")
            expect(dt < limits["count"], f"summary=count took {dt:.2f} s")
            t0 = time.perf_counter()
            got = list(mc.query("files from hypot:raw where core.runs[any] in (1003, 1004)", summary="count"))[0]
            dt = time.perf_counter() - t0
            eq(got["count"], n // 10, "count of two runs")
            expect(dt < limits["count"], f"where count took {dt:.2f} s")
        run(S, f"summary=count of {n:,} files in < {limits['count']} s", count)

        names: list[str] = []

        def stream():
            t0 = time.perf_counter()
            for f in mc.query("files from hypot:raw"):
                names.append(f["name"])
            dt = time.perf_counter() - t0
            eq(len(names), n, "streamed")
            expect(dt < limits["stream"], f"streaming took {dt:.2f} s")
        run(S, f"stream {n:,} files from MetaCat in < {limits['stream']} s", stream)

        def create():
            dd = tb.dd("poms")
            files = [{"namespace": "hypot", "name": x} for x in names[:100_000]]
            t0 = time.perf_counter()
            p = dd.create_project(files, project_attributes={"virtual": True, "campaign_stage_id": 99})
            dt = time.perf_counter() - t0
            eq(len(p["file_handles"]), len(files), "handles")
            expect(dt < limits["create"], f"create_project took {dt:.2f} s")
            t0 = time.perf_counter()
            for _ in range(20):
                h = dd.next_file(p["project_id"], stagger=0, timeout=5)
                dd.file_done(p["project_id"], f"hypot:{h['name']}")
            dt = (time.perf_counter() - t0) / 20
            expect(dt < 0.5, f"next_file+file_done {dt * 1000:.0f} ms in a 100k project")
            t0 = time.perf_counter()
            lp = dd.list_projects(attributes={"campaign_stage_id": 99}, with_files=False)
            eq(len(lp), 1, "list_projects")
            expect(time.perf_counter() - t0 < 2, "list_projects(with_files=False) slow")
        run(S, f"create_project of 100,000 files in < {limits['create']} s; next_file/file_done fast", create)
    finally:
        tb.stop(timeout=120)


def main() -> int:
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--big", action="store_true", help="also run the 1,000,000-file seed (needs ~3 GB RAM)")
    ap.add_argument("--only", nargs="*",
                    help="sections: infra auth seed mql mc-writes dd concurrency rucio error-pages hooks perf")
    ap.add_argument("-v", action="store_true", help="tracebacks for unexpected exceptions")
    args = ap.parse_args()
    VERBOSE = args.v
    only = set(args.only or ())

    def want(s):
        return not only or s in only

    tb = Testbed()
    try:
        seed = Seed(tb)
        sections = (("infra", lambda: infra_checks(tb)), ("auth", lambda: auth_checks(tb)),
                    ("seed", lambda: seed_checks(tb, seed)), ("mql", lambda: metacat_read_checks(tb, seed)),
                    ("mc-writes", lambda: metacat_write_checks(tb, seed)), ("dd", lambda: dd_checks(tb, seed)),
                    ("concurrency", lambda: concurrency_checks(tb, seed)), ("rucio", lambda: rucio_checks(tb, seed)),
                    ("error-pages", lambda: error_page_checks(tb)),
                    ("hooks", lambda: hooks_checks(tb)))          # hooks last: reset and seed wipe the state
        for name, checks in sections:
            if want(name):
                checks()
    finally:
        rc, out = tb.stop()
    if want("infra"):
        run("infra", "main testbed exits 0 on SIGTERM", lambda: eq(rc, 0, f"exit status ({out[-300:]})"))
        lifecycle_checks()
    if want("perf"):
        perf_checks(100_000, {"startup": 30, "count": 3, "stream": 30, "create": 20})
        if args.big:
            perf_checks(1_000_000, {"startup": 180, "count": 10, "stream": 120, "create": 30})
    failed = [r for r in RESULTS if not r[2]]
    print(f"\n{len(RESULTS) - len(failed)} PASS, {len(failed)} FAIL of {len(RESULTS)} checks")
    for s, name, _, detail in failed:
        print(f"  FAIL [{s}] {name}: {detail[:300]}")
    shutil.rmtree(WORK, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
