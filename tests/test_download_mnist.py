"""The MNIST download (`python -m dataset_utils download`, `make data`), against mirrors
served on 127.0.0.1: no test touches the network."""

import ast
import functools
import gzip
import hashlib
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import dataset_utils as du
from scripts import download_mnist

REPO_DIR = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO_DIR.parent / "shared" / "data" / "mnist"
SMALL = "t10k-labels-idx1-ubyte"  # 4.5 kB: most tests download just this file


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files quietly and remembers every path asked for."""

    requested: list = []

    def log_message(self, format, *args):
        RecordingHandler.requested.append(self.path)


def make_mirrors(root):
    """Folders of the local server, one per kind of mirror."""
    for name in ("good", "corrupt", "wrong", "empty"):
        (root / name).mkdir()
    for source in SHARED_MNIST.glob("*.gz"):
        (root / "good" / source.name).symlink_to(source)
    data = (SHARED_MNIST / f"{SMALL}.gz").read_bytes()
    middle = len(data) // 2
    (root / "corrupt" / f"{SMALL}.gz").write_bytes(data[:middle] + b"\xff\xff" + data[middle + 2:])
    (root / "wrong" / f"{SMALL}.gz").write_bytes(gzip.compress(gzip.decompress(data) + b"\0"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Base URL of an HTTP server on 127.0.0.1 with the folders of `make_mirrors`."""
    if not SHARED_MNIST.is_dir():
        pytest.skip(f"full MNIST not found at {SHARED_MNIST} (../shared/data/mnist)")
    root = tmp_path_factory.mktemp("mirrors")
    make_mirrors(root)
    handler = functools.partial(RecordingHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def refused_url():
    """A URL on a local port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def silent_url():
    """A URL whose server accepts connections but never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    sock.close()


def mirror_url(server, kind, refused_url, silent_url):
    """The URL of one kind of mirror."""
    return {"refused": refused_url, "silent": silent_url}.get(kind, f"{server}/{kind}/")


def content_md5(path):
    return hashlib.md5(gzip.decompress(path.read_bytes())).hexdigest()


def test_checksums_match_the_shared_readme():
    if not SHARED_MNIST.is_dir():
        pytest.skip(f"full MNIST not found at {SHARED_MNIST}")
    readme = (SHARED_MNIST / "README.md").read_text()
    table = dict(re.findall(r"^\| (\S+-ubyte) +\| ([0-9a-f]{32}) \|$", readme, re.MULTILINE))
    assert table == du.FILE_MD5


def test_good_download_lands_and_loads(server, tmp_path, capsys):
    dest = tmp_path / "mnist"
    assert du.main(["download", "--dest", str(dest), "--mirror", f"{server}/good/",
                    "--timeout", "5"]) == 0
    assert sorted(p.name for p in dest.iterdir()) == sorted(f"{name}.gz" for name in du.FILE_MD5)
    for name, md5 in du.FILE_MD5.items():
        assert content_md5(dest / f"{name}.gz") == md5
    assert du.find_mnist(dest) == (dest, "full")
    assert "MNIST is ready" in capsys.readouterr().out


# Each row: the kind of bad mirror tried first, and the reason it must be rejected with.
BAD_MIRRORS = [
    ("corrupt", r"not a valid gzip file|checksum mismatch"),
    ("wrong", r"checksum mismatch \(content md5 [0-9a-f]{32}, expected 27ae3e4e"),
    ("empty", r"HTTP 404"),
    ("refused", r"cannot connect"),
    ("silent", r"timed out after 0.5 s"),
]


@pytest.mark.parametrize("bad, want", BAD_MIRRORS)
def test_bad_mirror_is_rejected_and_next_one_used(server, tmp_path, refused_url, silent_url,
                                                   bad, want):
    lines = []
    mirrors = [mirror_url(server, bad, refused_url, silent_url), f"{server}/good/"]
    paths = du.download_mnist(dest=tmp_path, mirrors=mirrors, timeout=0.5, names=[SMALL],
                              log=lines.append)
    assert paths == [tmp_path / f"{SMALL}.gz"]
    assert content_md5(paths[0]) == du.FILE_MD5[SMALL]
    assert re.search(f"rejected, ({want})", "\n".join(lines))
    assert [p.name for p in tmp_path.iterdir()] == [f"{SMALL}.gz"]


def test_every_mirror_failing_names_them_and_leaves_nothing(server, tmp_path, refused_url):
    mirrors = [f"{server}/empty/", f"{server}/corrupt/", f"{server}/wrong/", refused_url]
    with pytest.raises(du.DownloadError) as info:
        du.download_mnist(dest=tmp_path, mirrors=mirrors, timeout=2, names=[SMALL],
                          log=lambda line: None)
    for mirror in mirrors:
        assert f"{mirror}{SMALL}.gz: " in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_cli_failure_prints_error_and_exits_1(server, tmp_path, capsys):
    assert du.main(["download", "--dest", str(tmp_path), "--mirror", f"{server}/empty/"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: could not download")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("present_name, compressed", [(f"{SMALL}.gz", True), (SMALL, False)])
def test_valid_files_are_not_downloaded_again(server, tmp_path, present_name, compressed):
    data = (SHARED_MNIST / f"{SMALL}.gz").read_bytes()
    (tmp_path / present_name).write_bytes(data if compressed else gzip.decompress(data))
    RecordingHandler.requested.clear()
    lines = []
    paths = du.download_mnist(dest=tmp_path, mirrors=[f"{server}/good/"], names=[SMALL],
                              log=lines.append)
    assert paths == [tmp_path / present_name]
    assert lines == [f"{present_name}: already present and valid, skipped"]
    assert RecordingHandler.requested == []


def test_invalid_present_file_is_replaced(server, tmp_path):
    (tmp_path / f"{SMALL}.gz").write_bytes(b"not mnist")
    du.download_mnist(dest=tmp_path, mirrors=[f"{server}/good/"], names=[SMALL], log=print)
    assert content_md5(tmp_path / f"{SMALL}.gz") == du.FILE_MD5[SMALL]


def test_interrupt_leaves_no_partial_file(tmp_path, monkeypatch):
    def interrupted_fetch(url, target, timeout):
        target.write_bytes(b"\x1f\x8b half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(du, "_fetch", interrupted_fetch)
    with pytest.raises(KeyboardInterrupt):
        du.download_mnist(dest=tmp_path, mirrors=["http://127.0.0.1:9/"], names=[SMALL],
                          log=lambda line: None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs, want", [
    ({"mirrors": []}, r"no mirrors given"),
    ({"timeout": 0}, r"timeout must be a positive number of seconds, got 0"),
    ({"names": ["train-images"]}, r"unknown MNIST files \['train-images'\]"),
])
def test_bad_arguments_raise_value_error(tmp_path, kwargs, want):
    arguments = {"dest": tmp_path, "mirrors": ["http://127.0.0.1:9/"], **kwargs}
    with pytest.raises(ValueError, match=want):
        du.download_mnist(**arguments, log=lambda line: None)


def test_mirror_list_is_sane():
    assert len(du.MIRRORS) >= 3 and len(set(du.MIRRORS)) == len(du.MIRRORS)
    assert all(url.startswith(("https://", "http://")) and url.endswith("/") for url in du.MIRRORS)


def test_student_command_runs_as_a_module_into_the_kits_data_folder(server, tmp_path):
    """What the notebook tells a student to type, in a copy of the kit's files: the
    download lands in data/mnist next to dataset_utils.py, where find_mnist looks."""
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "dataset_utils.py").write_bytes(Path(du.__file__).read_bytes())
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-m", "dataset_utils", "download", "--mirror",
                           f"{server}/good/", "--timeout", "5"], cwd=kit, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "MNIST is ready in" in done.stdout
    found = subprocess.run([sys.executable, "-c", "import dataset_utils as d; "
                            "print(d.describe_source())"], cwd=kit, env=env,
                           capture_output=True, text=True, timeout=60)
    assert found.stdout.startswith("Using the full MNIST data set from data/mnist (60000"), found


@pytest.mark.parametrize("argv, want", [
    ([], "the following arguments are required"),
    (["fetch"], "invalid choice: 'fetch'"),
    (["download", "--timeout", "soon"], "invalid float value: 'soon'"),
])
def test_cli_usage_errors_exit_2_with_one_message(argv, want, capsys):
    with pytest.raises(SystemExit) as info:
        du.main(argv)
    assert info.value.code == 2 and want in capsys.readouterr().err


def test_cli_documents_its_options(capsys):
    with pytest.raises(SystemExit):
        du.main(["download", "--help"])
    text = capsys.readouterr().out
    for option in ("--dest", "--mirror", "--timeout", "default: 30.0", "data/mnist"):
        assert option in text


def test_make_data_script_is_the_same_command(server, tmp_path, capsys):
    """scripts/download_mnist.py (make data) passes its options to dataset_utils."""
    assert download_mnist.main(["--dest", str(tmp_path), "--mirror", f"{server}/empty/"]) == 1
    assert capsys.readouterr().err.startswith("Error: could not download")
    assert list(tmp_path.iterdir()) == []


def test_downloader_needs_only_the_standard_library_and_numpy():
    """dataset_utils ships to students: nothing beyond the kit's requirements."""
    tree = ast.parse(Path(du.__file__).read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    assert modules and modules - {"__future__", "numpy"} <= sys.stdlib_module_names


class _Streaming(http.server.BaseHTTPRequestHandler):
    """A mirror that answers 200 and then sends ``body`` in ``pieces``, ``pause`` s apart."""

    body, pieces, pause = b"", 1, 0.0

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.end_headers()
        step = max(1, len(self.body) // self.pieces)
        for start in range(0, len(self.body), step):
            try:
                self.wfile.write(self.body[start:start + step])
                self.wfile.flush()
            except OSError:
                return
            threading.Event().wait(self.pause)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def streaming_mirror():
    """Start a mirror of :class:`_Streaming` with the given settings; yields a starter."""
    servers = []

    def start(body, pieces=1, pause=0.0):
        handler = type("Handler", (_Streaming,), {"body": body, "pieces": pieces, "pause": pause})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/"
    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("kind, want", [
    ("dripping", r"took longer than 2 s in all"),
    ("huge", r"sent more than \d+ MB"),
])
def test_a_dripping_or_endless_mirror_is_cut_off(streaming_mirror, tmp_path, monkeypatch, kind,
                                                  want):
    """Each read has the timeout; the whole file has a deadline and a size bound too, so a
    mirror that drips a byte at a time or never stops cannot hold ``make data``."""
    monkeypatch.setattr(du, "TOTAL_SECONDS_PER_TIMEOUT", 4)
    monkeypatch.setattr(du, "MAX_FILE_BYTES", 1 << 20)
    url = streaming_mirror(b"x" * 4000, pieces=4000, pause=0.01) if kind == "dripping" \
        else streaming_mirror(b"\0" * (3 << 20), pieces=48)
    lines = []
    with pytest.raises(du.DownloadError):
        du.download_mnist(dest=tmp_path, mirrors=[url], timeout=0.5, names=[SMALL],
                          log=lines.append)
    assert re.search(want, "\n".join(lines)), lines
    assert list(tmp_path.iterdir()) == []
