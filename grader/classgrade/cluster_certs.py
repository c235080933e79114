"""The certificates of a Dask cluster that only its own machines may use (``cluster-certs``).

One command makes a certificate authority (CA) for the cluster and, signed by it, one
certificate and key per role, each in a folder of its own to copy to the machines of
that role::

    DIR/scheduler/  ca.pem cert.pem key.pem     the scheduler's machine
    DIR/worker/     ca.pem cert.pem key.pem     every grading machine
    DIR/client/     ca.pem cert.pem key.pem     the machine that runs ``grade --dask``
    DIR/COMMANDS.txt                            the command lines that use them

Dask's TLS requires a certificate of this CA from both ends of every connection (mutual
authentication), so a program without one of these keys can neither submit work nor
join as a worker. The CA's own key is never written: it signs the three certificates
and is dropped, so no one can make another; to replace them, make a new folder. Keys are
written readable by their owner only (0600).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

ROLES = ("scheduler", "worker", "client")
DAYS = 365
PORT = 8786
# TLS server and client: the scheduler and the workers listen and also connect (to each
# other); the client only connects, so its certificate cannot serve as a scheduler's.
_SERVES = {"scheduler": True, "worker": True, "client": False}


@dataclass(frozen=True)
class ClusterCerts:
    """Where :func:`make_cluster_certs` wrote the files.

    Attributes:
        folder: the output folder; ``folder / role`` holds ``ca.pem``, ``cert.pem`` and
            ``key.pem`` for each role of :data:`ROLES`.
        commands: the text of ``folder / "COMMANDS.txt"``.
    """

    folder: Path
    commands: str

    def role(self, role: str) -> Path:
        """The folder of ``role``'s three files."""
        return self.folder / role


def _crypto():
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as error:
        raise ValueError(f"cluster-certs needs the cryptography package ({error}): install "
                         "requirements-dask.txt (make venv does)") from None
    return x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID


def _certificate(subject: str, key, issuer: str, issuer_key, days: int, *, ca: bool,
                 serves: bool = False):
    x509, hashes, _, _, usage, name_oid = _crypto()
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(name_oid.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(name_oid.COMMON_NAME, issuer)]))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None),
                              critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        uses = [usage.CLIENT_AUTH] + ([usage.SERVER_AUTH] if serves else [])
        builder = (builder.add_extension(x509.ExtendedKeyUsage(uses), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       issuer_key.public_key()), critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, data: bytes, mode: int) -> None:
    """A new file (never an existing one, nor through a link) with ``mode``."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)


def make_cluster_certs(out, *, days: int = DAYS, scheduler: str = "SCHEDULER",
                       port: int = PORT) -> ClusterCerts:
    """Make the cluster's CA and the scheduler's, the workers' and the client's credentials.

    Args:
        out: a folder that does not exist yet, or an empty one (made 0700).
        days: how long the certificates are valid.
        scheduler, port: the scheduler's host name or address and port, for the command
            lines only (Dask checks the CA's signature, not the host name).

    Returns:
        A :class:`ClusterCerts`.

    Raises:
        ValueError: ``out`` is not empty, ``days`` is below 1, or cryptography is missing.
    """
    if days < 1:
        raise ValueError(f"--days must be at least 1, got {days}")
    folder = Path(out)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"{folder} is not an empty folder: choose a new one (certificates "
                         "are never overwritten)")
    _, _, serialization, ec, _, _ = _crypto()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = f"automark cluster CA {os.urandom(4).hex()}"
    ca_pem = _certificate(ca_name, ca_key, ca_name, ca_key, days, ca=True).public_bytes(
        serialization.Encoding.PEM)
    for role in ROLES:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(f"automark-{role}", key, ca_name, ca_key, days, ca=False,
                            serves=_SERVES[role])
        (folder / role).mkdir(mode=0o700)
        _write(folder / role / "ca.pem", ca_pem, 0o644)
        _write(folder / role / "cert.pem", cert.public_bytes(serialization.Encoding.PEM), 0o644)
        _write(folder / role / "key.pem", key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()), 0o600)
    commands = command_lines(folder, scheduler, port)
    _write(folder / "COMMANDS.txt", commands.encode(), 0o644)
    return ClusterCerts(folder, commands)


def tls_flags(folder) -> str:
    """``--tls-ca-file ... --tls-cert ... --tls-key ...`` of one role's folder."""
    return " ".join(f"--tls-{flag} {Path(folder) / name}"
                    for flag, name in (("ca-file", "ca.pem"), ("cert", "cert.pem"),
                                       ("key", "key.pem")))


def command_lines(folder: Path, scheduler: str, port: int = PORT) -> str:
    """How to start the cluster with the credentials of ``folder`` (copied to the same path)."""
    folder = folder.resolve()
    return "\n".join([
        f"# Copy {folder}/<role>/ to the same path on each machine of that role (keys 0600, owned",
        "# by the user that runs it); every command runs in the kit's folder, at the same commit.",
        f"# The scheduler (one machine that the others reach on port {port}):",
        f"PYTHONPATH=$PWD .venv/bin/dask scheduler --protocol tls --port {port} --no-dashboard "
        f"{tls_flags(folder / 'scheduler')}",
        "# Each grading machine: one single-threaded worker process per core:",
        f"PYTHONPATH=$PWD .venv/bin/dask worker tls://{scheduler}:{port} --nworkers $(nproc) "
        f"--nthreads 1 --no-dashboard {tls_flags(folder / 'worker')}",
        "# The machine with the submissions and the gradebook:",
        f"python -m grader grade SUBMISSIONS --out grading --dask tls://{scheduler}:{port} "
        f"--dask-certs {folder / 'client'}",
        ""])


def add_command(sub, command) -> None:
    """Add ``cluster-certs`` to the CLI's subparsers (``command`` is the CLI's helper)."""
    parser = command(sub, "cluster-certs", cmd_cluster_certs,
                     "make the TLS certificates of a Dask cluster (CA, scheduler, workers, client)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="a new folder for them: DIR/scheduler, DIR/worker, DIR/client")
    parser.add_argument("--days", type=int, default=DAYS, metavar="N",
                        help="validity of the certificates (default: %(default)s)")
    parser.add_argument("--scheduler", default="SCHEDULER", metavar="HOST",
                        help="the scheduler's host, for the printed command lines only "
                        "(default: %(default)s)")


def cmd_cluster_certs(args) -> int:
    made = make_cluster_certs(args.out, days=args.days, scheduler=args.scheduler)
    print(f"Wrote the cluster's certificates to {made.folder}/ (scheduler/, worker/, client/; "
          "the CA's key is not kept). Start the cluster with:\n")
    print(made.commands, end="")
    return 0
