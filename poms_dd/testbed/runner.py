"""Run the testbed in-process: ``TestbedServer(seed="demo").start()`` → ``.url``, ``.dd_url`` ...

The server is werkzeug's threaded WSGI server in a daemon thread.  ``port=0`` picks a free port, which is
remembered, so ``stop()`` then ``start()`` serves the same URLs again (tests stop it to simulate an outage).
"""
from __future__ import annotations

import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from . import persist
from .hooks import reseed
from .seed import seed as apply_seed
from .server import make_app
from .store import Store


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:     # no access log on stderr
        pass


class TestbedServer:
    """A local MetaCat + Data Dispatcher + Rucio on ``host:port``."""

    __test__ = False        # not a pytest test class

    def __init__(self, seed: str = "demo", files: int | None = None, host: str = "127.0.0.1", port: int = 0,
                 state: str | None = None) -> None:
        self.seed, self.files, self.host, self.port, self.state = seed, files, host, port, state
        self.store = Store()
        if not (state and persist.load(self.store, state)):
            apply_seed(self.store, seed, files)
        self.app = make_app(self.store, (seed, files))
        self._server = None
        self._thread: threading.Thread | None = None
        self._saver: persist.Saver | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def mc_url(self) -> str:
        return self.url + "/mc"

    @property
    def dd_url(self) -> str:
        return self.url + "/dd"

    @property
    def rucio_url(self) -> str:
        return self.url + "/rucio"

    def start(self) -> "TestbedServer":
        """Serve in a background thread; raises OSError if the port is taken."""
        if self._server is not None:
            return self
        self._server = make_server(self.host, self.port, self.app, threaded=True,
                                   request_handler=_QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="testbed", daemon=True)
        self._thread.start()
        if self.state:
            self._saver = persist.Saver(self.store, self.state).start()
        return self

    def stop(self) -> None:
        """Stop serving (state is kept in memory, and saved when ``state`` is set)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
        if self._saver is not None:
            self._saver.stop()
            self._saver = None

    def reset(self) -> None:
        """Back to the freshly seeded state."""
        reseed(self.store, self.seed, self.files)

    def __enter__(self) -> "TestbedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
