"""A tiny external HTTP server in a thread, for answers the testbed does not give (e.g. a real server's HTML
error page): a fake of the *service*, talked to by the real clients over HTTP; nothing of ours is replaced."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

# (status, content type, body, extra headers) for a request path (without the query string)
Answer = tuple[int, str, str, dict]


class FakeServer:
    """``FakeServer(route)`` where ``route(method, path, query) -> Answer``; ``.url``; a context manager."""

    def __init__(self, route: Callable[[str, str, str], Answer]):
        self.requests: list[tuple[str, str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path, _, query = self.path.partition("?")
                outer.requests.append((self.command, path, query))
                status, ctype, body, headers = route(self.command, path, query)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:      # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
