"""Which certificate authorities the adapters trust for https, decided once per adapter and the same for all
three services and for logins.

Left alone, the clients disagree: MetaCat/DD logins send the password with ``verify=False`` (no server check at
all), their data calls use requests' default (``$REQUESTS_CA_BUNDLE`` or certifi), and Rucio uses
``$X509_CERT_DIR``, then ``ca_cert`` in a rucio.cfg, then certifi.  The adapters instead pass one explicit
``verify`` value to every request (``clients.py``, ``rucio.py``):

1. ``ExperimentConnection.verify_tls = False``: no verification (test servers only; never in production);
2. ``ExperimentConnection.ca_path``: that CA bundle file or hashed CA directory (must exist);
3. else ``$X509_CERT_DIR`` if it is a directory (the grid convention, e.g. ``/etc/grid-security/certificates``);
4. else ``$REQUESTS_CA_BUNDLE`` if it is a file;
5. else certifi's Mozilla bundle.

The environment is only read, when an adapter is built; nothing is written to it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

import certifi

from ..errors import ConfigurationError


@dataclass(frozen=True)
class TLSPolicy:
    verify: bool | str          # the value given to requests as ``verify=``
    source: str                 # what it came from, for "Test connection" and error messages

    def describe(self) -> str:
        if self.verify is False:
            return "server certificates NOT verified (verify_tls is off)"
        return f"CAs from {self.verify} ({self.source})"


def resolve(ca_path: str | None, verify_tls: bool, environ: Mapping[str, str] | None = None) -> TLSPolicy:
    """The TLS policy for one adapter (see the module docstring for the order).

    Raises ConfigurationError if ``ca_path`` is set but is neither a file nor a directory.
    """
    env = os.environ if environ is None else environ
    if not verify_tls:
        return TLSPolicy(False, "verify_tls off")
    if ca_path:
        if not (os.path.isfile(ca_path) or os.path.isdir(ca_path)):
            raise ConfigurationError(f"The CA path {ca_path} configured for https does not exist; set it to a CA "
                                     "bundle file or a hashed CA directory such as /etc/grid-security/certificates.")
        return TLSPolicy(ca_path, "experiment setting ca_path")
    cert_dir = env.get("X509_CERT_DIR")
    if cert_dir and os.path.isdir(cert_dir):
        return TLSPolicy(cert_dir, "$X509_CERT_DIR")
    bundle = env.get("REQUESTS_CA_BUNDLE")
    if bundle and os.path.isfile(bundle):
        return TLSPolicy(bundle, "$REQUESTS_CA_BUNDLE")
    return TLSPolicy(certifi.where(), "certifi default bundle")
