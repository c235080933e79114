"""grader.core.wire: answers as framed records, in chunks on the sandbox's pipe."""

import json

import numpy as np
import pytest

from grader.core import calling, wire
from grader.core.calling import CallOutcome

OK_ANSWER = CallOutcome(calling.OK, answer=np.arange(6.0).reshape(2, 3), mutated=("matrix",))


# ---------------------------------------------------------------- answers
def test_outcomes_round_trip():
    stream = (wire.encode_outcome(0, OK_ANSWER)
              + wire.encode_outcome(1, CallOutcome(calling.TIMEOUT, message="still running")))
    decoded = wire.decode_outcomes(stream, n_cases=2, max_values=100)
    assert decoded.damage == "" and decoded.problem is None
    first, second = decoded.outcomes[0], decoded.outcomes[1]
    assert first.answer.tolist() == OK_ANSWER.answer.tolist() and first.mutated == ("matrix",)
    assert first.answer.flags.writeable and first.answer.dtype == np.float64
    assert (second.status, second.message, second.answer) == (calling.TIMEOUT, "still running", None)


def test_a_problem_record_says_why_no_case_ran():
    decoded = wire.decode_outcomes(wire.encode_problem(wire.MISSING, "no function f defined"),
                                   n_cases=3, max_values=10)
    assert decoded.problem == (wire.MISSING, "no function f defined") and decoded.outcomes == {}


def test_the_first_record_of_a_case_counts():
    again = CallOutcome(calling.EXCEPTION, message="forged")
    stream = wire.encode_outcome(0, OK_ANSWER) + wire.encode_outcome(0, again)
    assert wire.decode_outcomes(stream, n_cases=1, max_values=100).outcomes[0].status == calling.OK


def _record(header: dict, payload: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return wire.MAGIC + len(head).to_bytes(4, "little") + head + payload


def _raw(head: bytes) -> bytes:
    return wire.MAGIC + len(head).to_bytes(4, "little") + head


HOSTILE = {
    "index-infinity": (_raw(b'{"case": Infinity, "status": "ok", "shape": []}'), "names case"),
    "index-out-of-range": (_record({"case": 7, "status": "ok", "shape": [1]}, b"\0" * 8), "names case 7"),
    "index-a-float": (_record({"case": 0.0, "status": "ok", "shape": [1]}, b"\0" * 8), "names case"),
    "mutated-null": (_record({"case": 0, "status": "ok", "mutated": None, "shape": []}),
                     "malformed message or mutated"),
    "message-a-list": (_record({"case": 0, "status": "exception", "message": ["x"]}),
                       "malformed message or mutated"),
    "unknown-status": (_record({"case": 0, "status": "passed"}), "has status passed"),
    "eight-tebibytes": (_record({"case": 0, "status": "ok", "shape": [1 << 20, 1 << 20]}),
                        "larger than allowed"),
    "negative-dimension": (_record({"case": 0, "status": "ok", "shape": [-1]}), "malformed shape"),
    "cut-short": (_record({"case": 0, "status": "ok", "shape": [4]}, b"\0" * 8), "cut short"),
    "zip-signature": (b"PK\x03\x04" + b"\0" * 60, "does not start where"),
    "deep-nesting": (_raw(b"[" * 8000 + b"]" * 8000), "not JSON"),
    "header-too-long": (wire.MAGIC + (1 << 30).to_bytes(4, "little"), "too long"),
    "not-an-object": (_raw(b"[1, 2]"), "not an object"),
    "not-utf8": (_raw(b"\xff\xfe"), "not JSON"),
    "answer-with-error-status": (_record({"case": 0, "status": "exception", "shape": [1]}, b"\0" * 8),
                                 "malformed shape"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_record_ends_the_stream_and_keeps_what_came_before(name):
    data, want = HOSTILE[name]
    decoded = wire.decode_outcomes(wire.encode_outcome(0, OK_ANSWER) + data, n_cases=2,
                                   max_values=1000)
    assert list(decoded.outcomes) == [0] and want in decoded.damage
    if name == "cut-short":
        return  # followed by more bytes, a short answer simply takes them as its values
    # nothing after a broken record is read: its boundaries can no longer be trusted
    after = wire.decode_outcomes(data + wire.encode_outcome(1, OK_ANSWER), n_cases=2,
                                 max_values=1000)
    assert after.outcomes == {} and after.damage


def test_messages_are_cleaned_of_control_characters():
    stream = _record({"case": 0, "status": "exception", "message": "\x1b[2Jcleared",
                      "mutated": ["\x1b[31mx"]})
    outcome = wire.decode_outcomes(stream, n_cases=1, max_values=1).outcomes[0]
    assert "\x1b" not in outcome.message and "\x1b" not in outcome.mutated[0]
