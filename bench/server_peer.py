"""Section 6, the original AutoMark server as the peer of the student-like loop.

The original (github.com/ISosnovik/automark, Flask, GPL-3.0) is not part of the kit: the
bench obtains it at run time, pinned to :data:`PEER_COMMIT`, and checks each of its three
server files against that commit's git blob hash before running it. Where from:

- ``$BENCH_AUTOMARK_SOURCE`` = a path: a clone or bare git directory of the repository, a
  folder holding its files, or GitHub's tarball of the commit;
- ``$BENCH_AUTOMARK_SOURCE`` = ``download``: GitHub's tarball of the commit (network);
- otherwise the bench's cache, :data:`CACHE`, which either of the above fills.

Without any of them, or without Flask (``requirements-bench.txt``), the peer's rows are
skipped with the reason. The peer runs as its ``main.py`` runs itself: werkzeug's
``run_simple(threaded=True)`` (Flask's development server, the only server it ships or
documents), here on 127.0.0.1 and a free port, without the reloader (which only polls the
files every 10 minutes), logging each request to a file as shipped. Its folder is laid out
as its README shows, in a temporary directory: our local-tests pickle,
:data:`CASES_PER_FUNCTION` hidden cases per function drawn as our server draws them (its
example generator's layout), and one ``users/user_info/<name>.json`` per simulated student.
Its rate limit is no setting but a literal (``@wrappers.add_timeout(Global, 30)``):
``wrappers.add_timeout`` is wrapped to pass 0 before ``main.py`` is imported, so each request
does the work it does as shipped and no window is ever open.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import pickle
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

from bench.kit import ROOT
from bench.rows import Row, ratio_at_most
from bench.server import SECTION, answering
from bench.settings import Settings

PEER_REPO = "ISosnovik/automark"
PEER_COMMIT = "4428d27513e41ba94c0d28f91eb4e28e39dcc585"
PEER_FILES = {  # path in the repository -> git blob hash at PEER_COMMIT
    "automark_server/main.py": "2440649fa1e687ae164ed82a5715c11546479e42",
    "automark_server/utils.py": "fb3a83ddbf888d2575d10978807d52d086fdcfbd",
    "automark_server/wrappers.py": "56ae73fefd54cee0d1ef271bf5e4cd484a21b207",
}
SOURCE_ENV = "BENCH_AUTOMARK_SOURCE"
DOWNLOAD = "download"
TARBALL_URL = f"https://codeload.github.com/{PEER_REPO}/tar.gz/{PEER_COMMIT}"
CACHE = ROOT / ".venv" / "bench-cache" / f"automark-{PEER_COMMIT[:12]}"
CASES_PER_FUNCTION = 100          # as the original's example generator makes
PEER = "the original AutoMark (Flask dev server, threaded)"
HOW_TO = (f"set {SOURCE_ENV} to a clone of github.com/{PEER_REPO} (or to '{DOWNLOAD}' to "
          "fetch its pinned tarball); the bench keeps a copy in .venv/bench-cache")


class Unavailable(Exception):
    """The peer cannot run here; the message says why and what to do."""


def blob_hash(data: bytes) -> str:
    """Git's object name of a file holding ``data``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _from_git(git_dir: Path) -> dict[str, bytes]:
    files = {}
    for path in PEER_FILES:
        shown = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{PEER_COMMIT}:{path}"],
                               capture_output=True, timeout=60)
        if shown.returncode != 0:
            raise Unavailable(f"{git_dir} has no {path} at commit {PEER_COMMIT[:12]}: "
                              f"{shown.stderr.decode(errors='replace').strip()[:200]}")
        files[path] = shown.stdout
    return files


def _from_tarball(data: bytes, where: str) -> dict[str, bytes]:
    """The files of GitHub's tarball (one top folder, ``automark-<commit>/``)."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            inside = member.name.partition("/")[2]
            if inside in PEER_FILES and member.isfile():
                files[inside] = archive.extractfile(member).read()
    missing = sorted(set(PEER_FILES) - set(files))
    if missing:
        raise Unavailable(f"{where} lacks {', '.join(missing)}")
    return files


def _from_path(source: Path) -> dict[str, bytes]:
    if source.is_file():
        return _from_tarball(source.read_bytes(), str(source))
    if (source / "HEAD").is_file() and (source / "objects").is_dir():
        return _from_git(source)                                     # a bare git directory
    if all((source / path).is_file() for path in PEER_FILES):
        return {path: (source / path).read_bytes() for path in PEER_FILES}
    if (source / ".git").is_dir():
        return _from_git(source / ".git")
    raise Unavailable(f"{source} is neither a clone of {PEER_REPO}, nor its tarball, "
                      "nor a folder with its automark_server/ files")


def _download() -> dict[str, bytes]:
    try:
        with urllib.request.urlopen(TARBALL_URL, timeout=30) as response:
            return _from_tarball(response.read(), TARBALL_URL)
    except OSError as error:
        raise Unavailable(f"cannot download {TARBALL_URL}: {error}") from None


def peer_files(source: str | None = None, cache: Path | None = None) -> dict[str, bytes]:
    """The original's server files at :data:`PEER_COMMIT`, checked, and kept in ``cache``.

    Args:
        source: a path, :data:`DOWNLOAD`, or None for ``$BENCH_AUTOMARK_SOURCE`` (unset or
            empty: the cache only).
        cache: where the checked files are kept (None: :data:`CACHE`).

    Raises:
        Unavailable: nowhere to get them from, or a file differs from the pinned commit.
    """
    source = os.environ.get(SOURCE_ENV, "") if source is None else source
    cache = CACHE if cache is None else cache
    if source == DOWNLOAD:
        files = _download()
    elif source:
        files = _from_path(Path(source).expanduser())
    elif all((cache / path).is_file() for path in PEER_FILES):
        files = {path: (cache / path).read_bytes() for path in PEER_FILES}
    else:
        raise Unavailable(f"no copy of the original AutoMark server: {HOW_TO}")
    for path, data in files.items():
        if blob_hash(data) != PEER_FILES[path]:
            raise Unavailable(f"{path} from {source or cache} is not the file of commit "
                              f"{PEER_COMMIT[:12]} (git blob {blob_hash(data)[:12]}, pinned "
                              f"{PEER_FILES[path][:12]})")
    for path, data in files.items():
        (cache / path).parent.mkdir(parents=True, exist_ok=True)
        (cache / path).write_bytes(data)
    return files


def check_flask() -> None:
    """Raises Unavailable when Flask is not installed."""
    try:
        importlib.import_module("flask")   # the peer's only dependency beyond NumPy
    except ImportError:
        raise Unavailable("Flask is not installed: pip install -r requirements-bench.txt") from None


# ------------------------------------------------------------------ the peer's folder
def remote_tests(tasks, n_cases: int = CASES_PER_FUNCTION) -> dict:
    """``{function: {"inputs": [AutoMark's JSON input], "outputs": [array], "ipd": [int]}}``.

    The inputs are drawn from each task's hidden family as our server draws them, and the
    outputs computed from the inputs as the client decodes them.
    """
    import numpy as np

    from grader.server.cases import draw_case, expected_output, hidden_seed, input_json
    table = {}
    for task in tasks:
        inputs, outputs = [], []
        for ipd in range(n_cases):
            sent = input_json(task, draw_case(task, hidden_seed("peer", task.name, ipd)))
            _, expected = expected_output(task, sent)
            inputs.append(json.loads(sent))
            outputs.append(np.asarray(expected, dtype=float))
        table[task.name] = {"inputs": inputs, "outputs": outputs, "ipd": list(range(n_cases))}
    return table


def lay_out(folder: Path, files: dict[str, bytes], usernames: list[str], tasks) -> Path:
    """The original's server folder under ``folder``, as its README lays it out."""
    from grader.server.cases import build_local_tests
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    server = folder / "automark_server"
    for sub in ("assignments", "users/user_info", "users/user_progress"):
        (server / sub).mkdir(parents=True, exist_ok=True)
    (server / "assignments" / "local_tests.pickle").write_bytes(build_local_tests(tasks).data)
    (server / "assignments" / "remote_tests.pickle").write_bytes(
        pickle.dumps(remote_tests(tasks), protocol=2))
    for name in usernames:
        (server / "users" / "user_info" / f"{name}.json").write_text(
            json.dumps({"name": f"Student {name}", "mail": f"{name}@example.org"}))
    return server


class PeerServer:
    """Starts the original on a laid-out folder: ``start`` as :func:`server_students.run_phase`
    expects it (the server in a session of its own, returned once it answers)."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files

    def start(self, folder: Path, port: int, usernames: list[str], tasks) -> subprocess.Popen:
        server = lay_out(folder, self.files, usernames, tasks)
        log = folder / "peer.log"
        process = subprocess.Popen([sys.executable, "-m", "bench.server_peer", str(server),
                                    str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=open(log, "w"), start_new_session=True)
        return answering(process, port, log, "the original AutoMark")


def serve(server_folder: str, port: int) -> None:
    """Run the original's app as its ``main.py`` does, on loopback, rate limit off."""
    from werkzeug.serving import run_simple
    sys.path.insert(0, server_folder)
    wrappers = importlib.import_module("wrappers")   # the original's modules, from server_folder
    shipped = wrappers.add_timeout
    wrappers.add_timeout = lambda storage, seconds: shipped(storage, 0)
    main = importlib.import_module("main")           # builds the app with the wrapped add_timeout
    run_simple("127.0.0.1", port, application=main.app, threaded=True)


# ------------------------------------------------------------------ the rows
def _numbers(single, many) -> dict:
    """What the rows compare, from the two phases' samples (``Counts``)."""
    from bench.server_students import WINDOW_SHARE, per_request
    samples = many.samples
    window = max(1, int(len(samples) * WINDOW_SHARE))
    seconds = single.samples[-1][0] - single.samples[0][0]
    return {"check_answer_per_second": single.check_answers / seconds,
            "single_cpu_per_request": per_request(single.samples, 0, len(single.samples) - 1)[0],
            "first": per_request(samples, 0, window)[0],
            "last": per_request(samples, len(samples) - 1 - window, len(samples) - 1)[0],
            "requests": samples[-1][2] - samples[0][2],
            "requests_per_second": (samples[-1][2] - samples[0][2]) / (samples[-1][0] - samples[0][0]),
            "errors": single.errors + many.errors}


def comparison_rows(ours: list[Row], peer: dict, n_students: int,
                    single: Row | None = None) -> list[Row]:
    """Ours (the student-like rows of :mod:`bench.server_students`) beside the peer's numbers;
    ``single``: our one-student row measured as the peer's (the course's own client), when
    given, in place of ours with the kit client's local-check records."""
    from bench.server_students import LOOP, WINDOW_SHARE
    by_name = {row.name: row for row in ours}
    single = single or by_name[f"{LOOP}: 1 student, seconds per check_answer"]
    first = by_name[f"{LOOP}: server CPU per request, first {WINDOW_SHARE:.0%}"]
    last = by_name[f"{LOOP}: server CPU per request, last {WINDOW_SHARE:.0%}"]
    shape = (f"the original: {n_students} students, one process, {peer['requests']} requests "
             f"({peer['requests_per_second']:.0f}/s), {peer['errors']} errors")
    extra = {f"peer_{key}": value for key, value in peer.items()}
    return [
        Row(SECTION, f"{LOOP} vs the original: 1 student, seconds per check_answer",
            single.ours_seconds, baseline=PEER, baseline_seconds=1 / peer["check_answer_per_second"],
            target=ratio_at_most(1.0),
            note=(f"ours {1 / single.ours_seconds:.0f} check_answer/s, the original "
                  f"{peer['check_answer_per_second']:.0f}/s; server CPU per request: ours "
                  f"{single.extra['cpu_per_request_seconds'] * 1e6:.0f} us, the original "
                  f"{peer['single_cpu_per_request'] * 1e6:.0f} us"), extra=extra),
        Row(SECTION, f"{LOOP} vs the original: server CPU per request, first {WINDOW_SHARE:.0%}",
            first.ours_seconds, baseline=PEER, baseline_seconds=peer["first"], note=shape,
            extra=extra),
        Row(SECTION, f"{LOOP} vs the original: server CPU per request, last {WINDOW_SHARE:.0%}",
            last.ours_seconds, baseline=PEER, baseline_seconds=peer["last"], note=shape,
            extra=extra)]


def run(settings: Settings, ours: list[Row]) -> list[Row]:
    """The student-like loop against the original, beside ``ours``; skipped with the reason
    when the original or Flask is missing."""
    from bench import server_students as loop
    from grader.core.tasks import TASKS
    try:
        check_flask()
        peer = PeerServer(peer_files())
    except Unavailable as reason:
        settings.skip(SECTION, f"{loop.LOOP}, the original AutoMark as a peer", str(reason))
        return []
    quick = settings.quick
    n_students = loop.QUICK_CLASS_STUDENTS if quick else loop.CLASS_STUDENTS
    seconds = loop.QUICK_SINGLE_SECONDS if quick else loop.SINGLE_SECONDS
    single = loop.run_phase(1, seconds, TASKS[:1], start=peer.start, kit_client=False)
    many = loop.run_phase(n_students, loop.QUICK_CLASS_SECONDS if quick else loop.CLASS_SECONDS,
                          TASKS, start=peer.start, kit_client=False)
    # One student as the course's own client sends: two requests a round on both servers
    # (the kit's client adds a local-check record, which the original does not know).
    ours_single = loop.single_row(loop.run_phase(1, seconds, TASKS[:1], kit_client=False))
    rows = comparison_rows(ours, _numbers(single, many), n_students, single=ours_single)
    for row in rows:
        settings.say(f"  {SECTION} {row.name}: ours {row.ours_seconds * 1e6:.0f} us, the "
                     f"original {row.baseline_seconds * 1e6:.0f} us; {row.note}")
    return rows


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
