"""``python -m bench``: the timing and report helpers, and a quick end-to-end run."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import report, runner
from bench.rows import Row, Target, ratio_at_most, seconds_below
from bench.timing import format_ratio, format_seconds, measure, measure_pair, median, ratio

ROOT = Path(__file__).resolve().parent.parent
ROW_KEYS = {"section", "name", "ours_seconds", "baseline", "baseline_seconds", "ratio", "target",
            "target_kind", "target_limit", "met", "check", "note"}
MACHINE_KEYS = {"platform", "cpu_count", "python", "numpy", "scipy", "torch", "blas_build",
                "blas_runtime", "blas_env", "load_average_start", "load_average_end"}


@pytest.mark.parametrize("values, want", [
    ([3.0], 3.0),
    ([3.0, 1.0, 2.0], 2.0),
    ([4.0, 1.0, 3.0, 2.0], 2.5),
    ([1e-6, 5.0, 1e-6], 1e-6),
])
def test_median(values, want):
    assert median(values) == want


def test_median_of_nothing_raises():
    with pytest.raises(ValueError, match="empty"):
        median([])


@pytest.mark.parametrize("ours, baseline, want", [
    (2.0, 1.0, 2.0),
    (1.0, 4.0, 0.25),
    (1.0, None, None),
    (None, 1.0, None),
    (1.0, 0.0, None),
])
def test_ratio(ours, baseline, want):
    assert ratio(ours, baseline) == want


@pytest.mark.parametrize("value, want", [
    (None, "-"),
    (0.842, "0.842x"),
    (1.2037, "1.204x"),
    (12.46, "12.5x"),
    (123456.0, "1.2e+05x"),
])
def test_format_ratio(value, want):
    assert format_ratio(value) == want


@pytest.mark.parametrize("seconds, want", [
    (None, "-"),
    (2.5e-8, "25 ns"),
    (4.1e-5, "41 µs"),
    (0.00456, "4.56 ms"),
    (0.25, "250 ms"),
    (1.234, "1.23 s"),
])
def test_format_seconds(seconds, want):
    assert format_seconds(seconds) == want


@pytest.mark.parametrize("target, ours, baseline, want", [
    (ratio_at_most(1.2), 1.2, 1.0, True),
    (ratio_at_most(1.2), 1.21, 1.0, False),
    (ratio_at_most(2.0), 1.0, None, False),
    (seconds_below(0.05), 0.049, None, True),
    (seconds_below(0.05), 0.05, 1e-9, False),
])
def test_target_met(target, ours, baseline, want):
    assert Row("s", "n", ours, "b", baseline, target).met is want


def test_row_without_target_is_neither_met_nor_missed():
    assert Row("s", "n", 1.0, "b", 2.0).met is None


@pytest.mark.parametrize("kind, limit", [("speed", 1.0), ("ratio", 0), ("seconds", float("nan"))])
def test_bad_target_raises(kind, limit):
    with pytest.raises(ValueError):
        Target(kind, limit)


@pytest.mark.parametrize("target, want", [(ratio_at_most(1.2), "<= 1.2x"),
                                          (seconds_below(0.05), "< 50 ms")])
def test_target_text(target, want):
    assert str(target) == want


def test_measure_takes_the_median_after_a_warm_up():
    calls = []
    timing = measure(lambda: calls.append(1), repeats=5)
    assert len(calls) == 1 + 5 and len(timing.samples) == 5
    assert timing.seconds == median(timing.samples) > 0


def test_measure_pair_interleaves_and_resets_each_side():
    order = []
    ours, base = measure_pair(lambda: order.append("o"), lambda: order.append("b"), repeats=3,
                              ours_setup=lambda: order.append("O"),
                              baseline_setup=lambda: order.append("B"))
    assert order == ["O", "o", "B", "b"] + ["O", "o", "B", "b"] * 3
    assert len(ours.samples) == len(base.samples) == 3


def test_measure_rejects_zero_repeats():
    with pytest.raises(ValueError, match="repeats"):
        measure(lambda: None, repeats=0)


def test_table_aligns_every_row_and_summary_names_the_misses():
    rows = [Row("conv_matrix", "28x28 k3x3", 4e-5, "scipy", 2e-5, ratio_at_most(3.0)),
            Row("conv_matrix", "256x256 k5x5", 2e-3, "scipy", 1e-3, ratio_at_most(1.2))]
    lines = report.table(rows).splitlines()
    assert lines[0].startswith("section") and len(lines) == 4
    assert "2.000x" in lines[3] and "NO" in lines[3]
    assert report.summary(rows) == "1 of 2 targets met; missed: conv_matrix 256x256 k5x5"


@pytest.mark.parametrize("text, want", [
    (None, list(runner.SECTIONS)),
    ("checks,conv_matrix", ["conv_matrix", "checks"]),
    (" layers ", ["layers"]),
])
def test_parse_sections(text, want):
    assert runner.parse_sections(text) == want


def test_unknown_section_is_an_error_listing_the_known_ones():
    with pytest.raises(ValueError, match="choose from conv_matrix"):
        runner.parse_sections("conv,layers")


def test_cli_unknown_section_exits_1():
    done = subprocess.run([sys.executable, "-m", "bench", "--only", "nope"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.startswith("Error: unknown section")


@pytest.mark.slow
def test_quick_run_writes_results_json(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "conv_matrix,checks",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert MACHINE_KEYS <= set(data["machine"])
    assert data["settings"]["quick"] is True and data["failed_sections"] == []
    assert {row["section"] for row in data["rows"]} == {"conv_matrix", "checks"}
    for row in data["rows"]:
        assert ROW_KEYS <= set(row), row["name"]
        assert row["ours_seconds"] > 0
        assert isinstance(row["ratio"], float) and row["ratio"] > 0, row["name"]
        assert row["met"] in (True, False, None)
        assert (row["met"] is None) == (row["target"] is None)
    assert "ratio" in done.stdout and "targets met" in done.stdout


def test_the_cpu_meter_counts_what_this_process_starts():
    import subprocess
    import sys

    from bench.cpu_meter import cpu_meter
    with cpu_meter() as (read, how):
        subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
        spent = read()
    assert spent > 0.05 and how in ("cgroup (cpuacct)", "system-wide (/proc/stat)")


def test_grading_copies_a_class_and_counts_the_machines_cpu(tmp_path):
    from bench import grading
    folder = grading.copy_submissions(["ada_correct"], tmp_path, copies=3)
    assert sorted(p.name for p in folder.iterdir()) == [f"ada_correct_{n:03d}" for n in range(3)]
    assert (folder / "ada_correct_000" / "assignment.ipynb").is_file()
    before = grading.system_cpu_seconds()
    sum(i * i for i in range(300_000))
    assert grading.system_cpu_seconds() >= before


def test_grading_gives_the_class_its_cpu_row_and_the_mixed_row(monkeypatch):
    from bench import grading
    from bench.rows import Row
    row = Row("grading", "class", 0.1, "nbconvert", 10.0,
              extra={"submissions": 20, "cpu_seconds_per_submission": 0.12,
                     "baseline_cpu_seconds_per_notebook": 9.0})
    monkeypatch.setattr(grading, "one_class", lambda settings: row)
    monkeypatch.setattr(grading, "mixed_class", lambda settings: Row("grading", "mixed", 1.0))
    rows = grading.run(None)
    assert [r.name for r in rows][::2] == ["class", "mixed"]
    assert rows[1].ours_seconds == 0.12 and rows[1].met is False   # target 0.10 past the first


@pytest.mark.parametrize("copies, others, want", [
    ([0.9, 0.8], [0.1, 0.2], 1.0),
    ([0.1], [0.9], 0.0),
    ([0.5], [0.5], 0.5),
    ([0.9, 0.3], [0.5, 0.1], 0.75),
    ([], [0.1], None),
    ([0.9], [], None),
])
def test_roc_auc(copies, others, want):
    from bench.similarity_labels import roc_auc
    assert roc_auc(copies, others) == want


def test_judge_counts_flags_at_the_tools_threshold_and_missing_pairs_score_0():
    from bench.similarity_labels import Labelled, judge
    pairs = [Labelled("f", frozenset(("a", "b")), True, "renamed"),
             Labelled("f", frozenset(("a", "c")), True, "renamed"),
             Labelled("f", frozenset(("b", "c")), False, ""),
             Labelled("f", frozenset(("c", "d")), False, "")]
    scores = {("f", frozenset(("a", "b"))): 0.9, ("f", frozenset(("b", "c"))): 0.8}
    judged = judge(pairs, scores, lambda s: s >= 0.75)
    assert (judged.precision, judged.recall, judged.false_flags) == (0.5, 0.5, 0.5)
    assert judged.auc == 2.5 / 4 and (judged.copies, judged.others) == (2, 2)  # 0 vs 0: a tie
    assert judged.text() == "AUC 0.625 P 0.50 R 0.50 FF 50.0%"


def test_the_labels_cover_both_flatten_functions_and_name_each_copiers_disguise():
    from bench.similarity_labels import cases, labelled_pairs
    students, disguises = cases().labelled_class()
    pairs = labelled_pairs(students, disguises, ["conv_matrix", "flatten_grad_input"])
    grad = [p for p in pairs if p.function == "flatten_grad_input"]
    assert grad and not any(p.copy for p in grad)   # short code only: nobody copied it
    copies = {p.pair: p.disguise for p in pairs if p.copy}
    assert copies[frozenset(("c04_while", "s03_four_loops"))] == "while"
    assert all(p.disguise for p in pairs if p.copy)


def test_similarity_section_is_registered_and_its_rows_are_well_formed(monkeypatch, tmp_path):
    pytest.importorskip("copydetect")
    import io

    from bench import similarity, similarity_dolos
    from bench.settings import Settings
    assert runner.SECTIONS["similarity"] is similarity.run
    monkeypatch.setattr(similarity, "QUICK_SCALE", 1)
    monkeypatch.setattr(similarity_dolos, "LIBRARY", tmp_path / "no-dolos.js")
    settings = Settings.for_mode(quick=True, threads=1, log=io.StringIO())
    rows = similarity.run(settings)
    assert [s.name for s in settings.skipped] == ["dolos"]
    assert settings.skipped[0].reason.startswith("not run: @dodona/dolos-lib is not installed")
    for row in rows:
        data = row.to_dict()
        assert ROW_KEYS <= set(data) and data["section"] == "similarity"
        assert row.ours_seconds > 0 and row.ratio > 0, row.name
    everything = next(row.extra for row in rows if row.name.startswith("all functions"))
    assert everything["kit_copies"] == everything["copydetect_copies"] > 10
    for tool in ("kit", "copydetect"):
        assert 0 <= everything[f"{tool}_auc"] <= 1 and 0 <= everything[f"{tool}_recall"] <= 1
    assert everything["kit_auc"] > everything["copydetect_auc"]   # issue 21: ahead on AUC
    timed = rows[-1]
    assert timed.extra["submissions"] == 24 and timed.met is not None
    assert {row.name.split(" (")[0] for row in rows} >= {"disguise while", "disguise renamed"}


@pytest.mark.skipif(__import__("bench.similarity_dolos").similarity_dolos.unavailable() is not None,
                    reason="Dolos is optional: npm install --prefix .venv/dolos @dodona/dolos-lib")
def test_dolos_scores_the_labelled_pairs_of_each_function(tmp_path):
    import io

    from bench import similarity, similarity_dolos
    from bench.settings import Settings
    students, _ = similarity.write_labelled(tmp_path / "labelled")
    settings = Settings.for_mode(quick=True, threads=1, log=io.StringIO())
    scores, flagged = similarity_dolos.scores(tmp_path / "labelled", students, ["conv_matrix"],
                                              settings)
    assert settings.skipped == [] and {f for f, _ in scores} == {"conv_matrix"}
    assert all(0 <= s <= 1 for s in scores.values()) and flagged(similarity_dolos.FLAG)
    assert scores[("conv_matrix", frozenset(("c02_comments", "s02_manual_padding")))] > 0.9


def test_the_server_cpu_meter_counts_a_process_group_and_nothing_else():
    """The student-like rows divide this by requests: it must see a worker's CPU, not ours."""
    from bench.server_students import tree_cpu_seconds
    # it burns 0.5 s and 0.3 s are awaited: /proc counts whole clock ticks, which may fall
    # just short of what the process itself measured
    burn = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\n"
    child = subprocess.Popen([sys.executable, "-c", burn + "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while tree_cpu_seconds(child.pid) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        counted = tree_cpu_seconds(child.pid)
    finally:
        child.communicate(b"")
    assert 0.3 <= counted < 5.0
    assert tree_cpu_seconds(child.pid) == 0.0        # the group is gone: nothing is counted


def _peer_or_skip():
    """The original AutoMark's files when this machine has a copy (and Flask), else skip."""
    from bench import server_peer
    try:
        server_peer.check_flask()
        return server_peer.peer_files()
    except server_peer.Unavailable as reason:
        pytest.skip(f"the original AutoMark is not here: {reason}")


def test_git_names_a_blob_as_the_peer_check_expects():
    from bench.server_peer import blob_hash
    assert blob_hash(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"   # git hash-object
    assert blob_hash(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_without_a_copy_the_peer_is_skipped_with_what_to_do(monkeypatch, tmp_path):
    import io

    from bench import server_peer
    from bench.settings import Settings
    monkeypatch.delenv(server_peer.SOURCE_ENV, raising=False)
    monkeypatch.setattr(server_peer, "CACHE", tmp_path / "empty-cache")
    monkeypatch.setattr(server_peer, "check_flask", lambda: None)   # Flask or not: the copy is missing
    settings = Settings.for_mode(quick=True, threads=1, log=io.StringIO())
    assert server_peer.run(settings, []) == []
    (skipped,) = settings.skipped
    assert skipped.section == "server" and "original AutoMark" in skipped.name
    assert server_peer.SOURCE_ENV in skipped.reason and not (tmp_path / "empty-cache").exists()


def test_without_flask_the_peer_is_skipped_saying_what_to_install(monkeypatch):
    import io

    from bench import server_peer
    from bench.settings import Settings

    monkeypatch.setitem(sys.modules, "flask", None)        # an import of flask fails
    settings = Settings.for_mode(quick=True, threads=1, log=io.StringIO())
    assert server_peer.run(settings, []) == []
    (skipped,) = settings.skipped
    assert "requirements-bench.txt" in skipped.reason


@pytest.mark.parametrize("shape, files, want", [
    ("folder", {"automark_server/main.py": b"x", "automark_server/utils.py": b"y",
                "automark_server/wrappers.py": b"z"}, "is not the file of commit"),
    ("tarball", {"automark_server/main.py": b"x", "automark_server/utils.py": b"y",
                 "automark_server/wrappers.py": b"z"}, "is not the file of commit"),
    ("tarball", {"automark_server/main.py": b"x"}, "lacks automark_server/utils.py"),
    ("folder", {"automark_server/main.py": b"x"}, "neither a clone"),
])
def test_a_copy_other_than_the_pinned_commit_is_refused(tmp_path, shape, files, want):
    import tarfile

    from bench import server_peer
    folder = tmp_path / "automark-0000"
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    source = folder
    if shape == "tarball":
        source = tmp_path / "automark.tar.gz"
        with tarfile.open(source, "w:gz") as archive:
            archive.add(folder, arcname=folder.name)
    with pytest.raises(server_peer.Unavailable, match=want):
        server_peer.peer_files(str(source), cache=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()     # nothing unchecked is kept


def test_the_peer_judges_answers_with_its_rate_limit_off(tmp_path):
    import asyncio

    from bench.server import answer_for, free_port, stop_server
    from bench.server_hostile import one_request
    from bench.server_peer import PeerServer
    from grader.core.tasks import TASKS
    peer, task = PeerServer(_peer_or_skip()), TASKS[0]
    port = free_port()
    process = peer.start(tmp_path, port, ["ada"], [task])

    async def round_trip(wrong: bool) -> bytes:
        sent = await one_request(port, f"/get_test_input/ada/{task.name}".encode())
        data = json.loads(sent.partition(b"\r\n\r\n")[2])
        answer = answer_for(task, data["input"], wrong).replace(" ", "")
        return await one_request(port, f"/check_answer/ada/{task.name}/{data['ipd']}/{answer}"
                                 .encode())

    try:
        verdicts = [asyncio.run(round_trip(wrong)) for wrong in (True, False, False)]
    finally:
        stop_server(process)
    bodies = [json.loads(v.partition(b"\r\n\r\n")[2]) for v in verdicts]
    assert bodies == [{"success": False}, {"success": True}, {"success": True}]  # no timeout
    progress = json.loads((tmp_path / "automark_server/users/user_progress/ada.json").read_text())
    assert progress == {task.name: True}


@pytest.mark.slow
def test_the_peer_rows_sit_beside_ours_in_one_run(monkeypatch):
    import io

    from bench import server_peer
    from bench import server_students as loop
    from bench.settings import Settings
    _peer_or_skip()
    for name, value in [("QUICK_SINGLE_SECONDS", 2.0), ("QUICK_CLASS_SECONDS", 3.0),
                        ("QUICK_CLASS_STUDENTS", 3)]:
        monkeypatch.setattr(loop, name, value)
    settings = Settings.for_mode(quick=True, threads=1, log=io.StringIO())
    ours = loop.run(settings)
    rows = server_peer.run(settings, ours)
    assert settings.skipped == [] and len(rows) == 3
    for row in rows:
        assert row.baseline.startswith("the original AutoMark") and row.baseline_seconds > 0
        assert row.ours_seconds > 0 and row.extra["peer_errors"] == 0, row.note
    assert rows[0].met is not None and rows[0].extra["peer_check_answer_per_second"] > 1
