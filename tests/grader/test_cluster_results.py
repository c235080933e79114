"""What a Dask worker sends back is read as hostile input: only the kit's own format passes."""

import json
import pickle

import pytest

from grader.classgrade import cluster_results as wire
from grader.classgrade.failures import not_graded
from grader.core.results import CaseResult, SubmissionResult, TaskResult

NAMES = ("conv_matrix", "box_blur")
SENT = {"username": "ada", "content_hash": "ab" * 32, "task_names": NAMES}


def honest() -> SubmissionResult:
    """A result with every kind of field: a passed, a failed (NaN error), a hidden case."""
    cases = (CaseResult(0, "ok", max_error=0.0),
             CaseResult(1, "mismatch", "values differ", ("x_input",), float("nan"), inputs="[1]"),
             CaseResult(2, "timeout", "took too long", hidden=True))
    return SubmissionResult("ada", SENT["content_hash"], tasks=(
        TaskResult("conv_matrix", "grade", cases, mistake="flipped kernel"),
        TaskResult.crashed("box_blur", "grade", "missing", kind="missing")),
        notes=("a note",), sandbox="bwrap", seconds=0.123)


def test_an_honest_result_and_its_executed_copy_come_back_whole():
    copy = ("ada.ipynb", b"{\"cells\": []}")
    result, executed = wire.decode(wire.encode(honest(), copy), **SENT)
    assert json.dumps(result.to_dict()) == json.dumps(honest().to_dict())
    assert executed == copy
    assert wire.decode(wire.encode(honest()), **SENT)[1] is None


def test_a_not_graded_result_stays_not_graded():
    failed = not_graded("ada", SENT["content_hash"], "the sandbox did not start", NAMES)
    assert wire.decode(wire.encode(failed), **SENT)[0] == failed


def header_of(data: bytes) -> dict:
    return json.loads(data[8:8 + int.from_bytes(data[:8], "big")])


def rebuilt(header: dict, rest: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "big") + raw + rest


def edit(change):
    """A forgery: the honest bytes with ``change(header)`` applied to the header."""
    def forge():
        header = header_of(wire.encode(honest()))
        change(header)
        return rebuilt(header)
    return forge


def case0(header) -> dict:
    return header["result"]["tasks"][0]["cases"][0]


FORGERIES = [
    ("pickled object", lambda: honest(), "a SubmissionResult, not bytes"),
    ("pickle bytes", lambda: pickle.dumps(honest()), "a header of"),
    ("too long", lambda: b"\0" * (wire.MAX_BYTES + 1), f"{wire.MAX_BYTES + 1} bytes, outside"),
    ("header size lie", lambda: (10 ** 9).to_bytes(8, "big") + b"{}", "a header of 1000000000 bytes"),
    ("not JSON", lambda: (4).to_bytes(8, "big") + b"\xff\xfe{}", "not JSON (UnicodeDecodeError)"),
    ("deep JSON", lambda: rebuilt_raw(b"[" * 100_000), "not JSON (RecursionError)"),
    ("other format", edit(lambda h: h.update(format="automark-result/0")), "not automark-result/1"),
    ("extra field", edit(lambda h: h["result"].update(grade=100)), "without exactly the fields"),
    ("seconds as text", edit(lambda h: h["result"].update(seconds="1")), "seconds is a str"),
    ("index as bool", edit(lambda h: case0(h).update(index=True)), "index is a bool"),
    ("notes not strings", edit(lambda h: h["result"].update(notes=[1])), "not a list of strings"),
    ("another student", edit(lambda h: h["result"].update(username="bob")), "for 'bob'"),
    ("another content", edit(lambda h: h["result"].update(content_hash="cd" * 32)), "(content 'cdcd"),
    ("task not asked", edit(lambda h: h["result"]["tasks"][0].update(task="flatten_forward")),
     "'flatten_forward'"),
    ("task twice", edit(lambda h: h["result"]["tasks"].append(h["result"]["tasks"][0])), "twice"),
    ("unknown kind", edit(lambda h: case0(h).update(kind="full_marks")), "kind 'full_marks'"),
    ("passed forged", edit(lambda h: h["result"]["tasks"][0].update(passed=True)), "derived fields"),
    ("infinite time", edit(lambda h: h["result"].update(seconds=float("inf"))), "took inf s"),
    ("trailing bytes", lambda: wire.encode(honest()) + b"x", "1 bytes after the header"),
    ("copy elsewhere", edit(lambda h: h.update(executed=["../../ada.ipynb", 0])), "named '../../"),
    ("copy size lie", edit(lambda h: h.update(executed=["ada.ipynb", 5])), "with 0 bytes"),
]


def rebuilt_raw(raw: bytes) -> bytes:
    return len(raw).to_bytes(8, "big") + raw


@pytest.mark.parametrize("forge, want", [(f, w) for _, f, w in FORGERIES],
                         ids=[name for name, _, _ in FORGERIES])
def test_a_forged_result_is_refused_saying_why(forge, want):
    with pytest.raises(wire.ForgedResult) as refusal:
        wire.decode(forge(), **SENT)
    assert want in str(refusal.value)

