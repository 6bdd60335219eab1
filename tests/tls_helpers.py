"""Production-like network set-ups around the testbed app, for the adapter and onboarding tests (real sockets,
real TLS):

* ``make_pki``: a private CA, a server certificate for ``localhost``/127.0.0.1 and a client certificate
  (files written with the ``cryptography`` package);
* ``HttpsServer``: the testbed's WSGI app served over https, optionally only its auth paths or only its data
  paths (so a separate auth server is really separate), optionally requiring a client certificate;
* ``CuttingProxy``: a TCP proxy that forwards one connection and cuts the answer after N bytes (a server or
  network failing partway through a stream).
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug.serving import WSGIRequestHandler, make_server

AUTH_PATHS = ("/mc/auth/", "/dd/auth/", "/rucio/auth/")


@dataclass
class PKI:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o600)


def _cert(subject: str, issuer: str, key, signer, *, ca: bool, server: bool = False) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def make_pki(directory: Path) -> PKI:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _cert("poms_dd test CA", "poms_dd test CA", ca_key, ca_key, ca=True)
    pki = PKI(directory / "ca.pem", directory / "server.pem", directory / "server.key",
              directory / "client.pem", directory / "client.key")
    pki.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    for cert_path, key_path, cn, server in ((pki.server_cert, pki.server_key, "localhost", True),
                                            (pki.client_cert, pki.client_key, "poms service", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert_path.write_bytes(_cert(cn, "poms_dd test CA", key, ca_key, ca=False, server=server)
                              .public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
    return pki


class _Quiet(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass

    def log_error(self, *args) -> None:
        pass


def _only(app, auth: bool | None):
    """The app restricted to auth paths (``auth=True``), to data paths (False), or unrestricted (None)."""
    def wrapped(environ, start_response):
        is_auth = environ.get("PATH_INFO", "").startswith(AUTH_PATHS)
        if auth is not None and is_auth != auth:
            start_response("404 NOT FOUND", [("Content-Type", "text/plain")])
            return [b"not served here"]
        return app(environ, start_response)
    return wrapped


class HttpsServer:
    """``app`` over https on 127.0.0.1 (certificate valid for localhost and 127.0.0.1)."""

    def __init__(self, app, pki: PKI, *, auth: bool | None = None, require_client_cert: bool = False):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.server_cert, pki.server_key)
        if require_client_cert:
            context.load_verify_locations(pki.ca)
            context.verify_mode = ssl.CERT_REQUIRED
        self._server = make_server("127.0.0.1", 0, _only(app, auth), threaded=True, request_handler=_Quiet,
                                   ssl_context=context)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def url(self, host: str = "localhost") -> str:
        return f"https://{host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class CuttingProxy:
    """Forwards each connection to ``upstream`` (host, port); an answer longer than ``cut_after`` bytes is
    cut there (the connection is closed) when ``cut_after`` is set."""

    def __init__(self, upstream: tuple[str, int], cut_after: int | None = None):
        self.upstream, self.cut_after = upstream, cut_after
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)

        def requests_up() -> None:
            try:
                while data := client.recv(65536):
                    upstream.sendall(data)
            except OSError:
                pass
        threading.Thread(target=requests_up, daemon=True).start()
        sent = 0
        try:
            while data := upstream.recv(65536):
                if self.cut_after is not None and sent + len(data) > self.cut_after:
                    client.sendall(data[:self.cut_after - sent])
                    break
                client.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def stop(self) -> None:
        self._stop = True
        self._listener.close()
