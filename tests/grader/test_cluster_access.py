"""Who may use a cluster: tcp:// only on loopback (or when told), tls:// with the client's certificate."""

import shutil
from pathlib import Path

import pytest

from grader import cli
from grader.classgrade import cluster_access as access
from grader.classgrade import cluster_check
from grader.classgrade import distributed as dist
from grader.classgrade.cluster_certs import make_cluster_certs

pytest.importorskip("distributed")
pytest.importorskip("cryptography")
ROOT = Path(__file__).resolve().parents[2]
REFUSED = ("Error: --dask tcp://10.0.0.5:8786 refused: anyone who can reach an unencrypted Dask "
           "scheduler can run code on its workers and change any grade: use tls:// with "
           "--dask-certs DIR (python -m grader cluster-certs), or --dask-insecure on a network "
           "that only you can reach\n")


@pytest.mark.parametrize("address, want", [
    ("tcp://127.0.0.1:8786", True),
    ("tcp://127.8.9.10:8786", True),
    ("tcp://[::1]:8786", True),
    ("tcp://localhost:8786", True),
    ("tcp://10.0.0.5:8786", False),
    ("tcp://0.0.0.0:8786", False),        # every interface of this machine
    ("tcp://grading.example.org:8786", False),
    ("tcp://127.0.0.1.example.org:8786", False),
])
def test_only_loopback_counts_as_loopback(address, want):
    assert access.is_loopback(address) is want


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    return make_cluster_certs(tmp_path_factory.mktemp("certs") / "cluster").folder


@pytest.mark.parametrize("address, insecure, want", [
    ("tcp://127.0.0.1:8786", False, None),
    ("tcp://10.0.0.5:8786", True, None),
])
def test_plain_tcp_is_accepted_on_loopback_or_when_told(address, insecure, want):
    assert access.client_security(address, insecure=insecure) is want


@pytest.mark.parametrize("address, kwargs, want", [
    ("tcp://10.0.0.5:8786", {}, "refused: anyone who can reach an unencrypted Dask scheduler"),
    ("tcp://grading.example.org:8786", {}, "refused: anyone who can reach"),
    ("tcp://127.0.0.1:8786", {"certs": "CERTS"}, "is for a tls:// scheduler"),
    ("tls://10.0.0.5:8786", {"certs": "NOWHERE"}, "no ca.pem, cert.pem, key.pem there"),
    ("tls://10.0.0.5:8786", {}, "needs the client's certificate"),
])
def test_no_connection_without_credentials_or_consent(address, kwargs, want, certs, tmp_path):
    kwargs = {k: {"CERTS": certs, "NOWHERE": tmp_path}[v] for k, v in kwargs.items()}
    with pytest.raises(ValueError, match=want):
        access.client_security(address, **kwargs)


@pytest.mark.parametrize("given", ["cluster", "cluster/client"])
def test_tls_uses_the_clients_certificate_and_requires_encryption(given, certs):
    folder = certs.parent / given
    security = access.client_security("tls://10.0.0.5:8786", certs=folder)
    assert security.require_encryption is True
    assert (security.tls_ca_file, security.tls_client_cert, security.tls_client_key) == tuple(
        str(certs / "client" / name) for name in access.TLS_FILES)


def test_tls_takes_the_certificate_from_daskss_configuration(certs):
    import dask
    client = certs / "client"
    with dask.config.set({"distributed.comm.tls.ca-file": str(client / "ca.pem"),
                          "distributed.comm.tls.client.cert": str(client / "cert.pem"),
                          "distributed.comm.tls.client.key": str(client / "key.pem")}):
        security = access.client_security("tls://10.0.0.5:8786")
    assert (security.require_encryption, security.tls_client_cert) == (True, str(client / "cert.pem"))


def test_grade_refuses_plain_tcp_to_another_machine_in_one_line(tmp_path, capsys):
    shutil.copytree(ROOT / "examples" / "submissions" / "ada_correct", tmp_path / "subs" / "ada")
    code = cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                     "--dask", "tcp://10.0.0.5:8786"])
    assert (code, capsys.readouterr().err) == (1, REFUSED)
    assert not (tmp_path / "out").exists()  # refused before anything was written


@pytest.fixture
def plain_scheduler():
    """A scheduler without TLS or workers, in this process, on 127.0.0.1 only."""
    import logging

    import distributed
    with distributed.LocalCluster(n_workers=0, processes=False, host="127.0.0.1", protocol="tcp",
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


def test_dask_insecure_lets_grade_connect_to_plain_tcp(plain_scheduler, monkeypatch):
    # tcp://0.0.0.0:PORT reaches the scheduler listening on 127.0.0.1, but is not a loopback
    # address: refused, then accepted with insecure (it connects, and waits for a worker)
    address = plain_scheduler.replace("127.0.0.1", "0.0.0.0")
    monkeypatch.setattr(cluster_check, "WAIT_SECONDS", 0.5)
    with pytest.raises(ValueError, match="refused: anyone who can reach"):
        with dist.open_cluster(address, mode="bwrap"):
            pass
    with pytest.raises(cluster_check.ClusterUnusable, match="no Dask worker joined"):
        with dist.open_cluster(address, mode="bwrap", insecure=True):
            pass
