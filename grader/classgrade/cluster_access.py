"""Who may use a Dask cluster: the scheduler's address and the client's credentials.

A Dask scheduler runs whatever function a connected client sends, on every worker.
Over ``tls://`` both ends must show a certificate of the cluster's own CA (made by
``python -m grader cluster-certs``), so only the holders of its keys can connect. Over
``tcp://`` anyone who reaches the port can: such an address is accepted only on this
machine's loopback, or with ``insecure`` (``--dask-insecure``) on a network the
instructor alone reaches. ``local[:N]`` starts its own cluster with throw-away
credentials made in memory for that run (:func:`local_security`).
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

_SPEC = re.compile(r"(?:(?P<address>(?P<scheme>tcp|tls)://(?P<host>\[[^\s/\]]+\]|[^\s/:]+):"
                   r"\d+)|local(?::(?P<n>\d+))?)")
TLS_FILES = ("ca.pem", "cert.pem", "key.pem")
INSECURE = ("anyone who can reach an unencrypted Dask scheduler can run code on its workers "
            "and change any grade: use tls:// with --dask-certs DIR (python -m grader "
            "cluster-certs), or --dask-insecure on a network that only you can reach")


def parse_spec(spec: str) -> tuple[str, int]:
    """``("tls://host:8786", 0)``, or ``("", n_workers)`` for ``local[:N]``; else ValueError."""
    found = _SPEC.fullmatch(spec.strip())
    if not found or found["n"] == "0":
        raise ValueError(f"--dask takes tls://HOST:PORT or tcp://HOST:PORT (a running scheduler), "
                         f"local or local:N (N >= 1 worker processes on this machine), got {spec!r}")
    return (found["address"], 0) if found["address"] else ("", int(found["n"] or os.cpu_count() or 1))


def is_loopback(address: str) -> bool:
    """True for ``tcp://127.x.y.z:P``, ``tcp://[::1]:P`` and ``tcp://localhost:P``."""
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


def client_folder(certs) -> Path:
    """The folder of the client's ``ca.pem``, ``cert.pem``, ``key.pem``: ``certs`` or ``certs/client``."""
    folder = Path(certs)
    if not all((folder / name).is_file() for name in TLS_FILES) and (folder / "client").is_dir():
        folder = folder / "client"
    missing = [name for name in TLS_FILES if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"--dask-certs {certs}: no {', '.join(missing)} there: give the folder "
                         "made by python -m grader cluster-certs --out DIR (or its client/)")
    return folder


def client_security(address: str, *, certs=None, insecure: bool = False):
    """The ``distributed.Security`` to connect to ``address`` with, or None for plain TCP.

    Args:
        address: ``tls://HOST:PORT`` or ``tcp://HOST:PORT``.
        certs: a folder of ``cluster-certs`` (its ``client/`` or the folder itself); for
            ``tls://`` without it, Dask's own configuration (``distributed.comm.tls.*``).
        insecure: accept ``tcp://`` to a host that is not this machine's loopback.

    Raises:
        ValueError: ``tcp://`` to another host without ``insecure`` (saying why), ``certs``
            with ``tcp://``, or ``tls://`` without a client certificate and CA.
    """
    from distributed.security import Security

    if address.startswith("tcp://"):
        if certs is not None:
            raise ValueError(f"--dask-certs is for a tls:// scheduler, got --dask {address}: "
                             f"use tls://{address[len('tcp://'):]}")
        if not (insecure or is_loopback(address)):
            raise ValueError(f"--dask {address} refused: {INSECURE}")
        return None
    if certs is not None:
        folder = client_folder(certs)
        return Security(require_encryption=True, tls_ca_file=str(folder / "ca.pem"),
                        tls_client_cert=str(folder / "cert.pem"),
                        tls_client_key=str(folder / "key.pem"))
    security = Security(require_encryption=True)
    if not (security.tls_ca_file and security.tls_client_cert):
        raise ValueError(f"--dask {address} needs the client's certificate: --dask-certs DIR "
                         "(made by python -m grader cluster-certs), or distributed.comm.tls.ca-file "
                         "and distributed.comm.tls.client.cert/key in the Dask configuration")
    return security


def local_security():
    """Credentials made in memory for one ``LocalCluster``: even on this machine's loopback,
    another user (or a process of a plain-mode sandbox) cannot use its scheduler."""
    from distributed.security import Security

    try:
        return Security.temporary()
    except ImportError as error:
        raise ValueError(f"--dask local needs the cryptography package ({error}): install "
                         "requirements-dask.txt (make venv does)") from None
