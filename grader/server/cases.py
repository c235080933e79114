"""What the server hands out: hidden test inputs and the local-tests pickle.

A hidden case is drawn from the task's hidden family (``Task.hidden_case``: no
known shortcut passes any one of them, since one right answer completes a
function) with a generator seeded by (username, function, ipd), so every
student gets inputs of their own; it is
sent as AutoMark's JSON (``{arg: {"data": ..., "type": ...}}``) and the
expected output is computed on the server from exactly the inputs that were
sent (decoded as the client decodes them), never stored, never sent. Only
cases AutoMark's JSON can carry are drawn: arrays, ints, floats and bools (a
list of arrays would reach the student as nested lists).

The local tests are the kit's local cases (the same ones the student kit
ships) with the references' outputs, as the pickle AutoMark's client reads:
protocol 2, NumPy arrays and NumPy scalars, written with the module names of
NumPy 1 (``numpy.core.multiarray``), which NumPy 1 and 2 both load.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import pickletools
from dataclasses import dataclass

import numpy as np

from grader.core.cases import case_seed, make_cases
from grader.core.tasks import Task

LOCAL_TESTS_USER = "release"  # the local cases of the student kit's vectors
MAX_DRAWS = 50
# NumPy 2 pickles name numpy._core, which NumPy 1 cannot import; numpy.core works in both.
LEGACY_GLOBALS = {"numpy._core.multiarray _reconstruct": "numpy.core.multiarray\n_reconstruct\n",
                  "numpy._core.multiarray scalar": "numpy.core.multiarray\nscalar\n"}
JSON_TYPES = {np.ndarray: "ndarray", int: "int", float: "float", bool: "bool"}


@dataclass(frozen=True)
class LocalTests:
    """The bytes ``/load_tests`` serves and their MD5 (``/check_sum``)."""

    data: bytes
    md5: str


def hidden_seed(username: str, function: str, ipd: int) -> int:
    """A 63-bit seed (it fits an SQLite integer) for one issued input."""
    return case_seed(username, function, f"server-ipd-{ipd}") >> 1


def draw_case(task: Task, seed: int) -> dict:
    """One case of the task's hidden family with JSON-representable arguments.

    Edge cases are never drawn: one of them (a 1x1 kernel, a batch of one) lets a
    shortcut through, and the server completes a function on one right answer.

    Raises:
        ValueError: if the task's declarations never give such a case.
    """
    rng = np.random.default_rng(seed)
    for _ in range(MAX_DRAWS):
        case = task.hidden_case(rng)
        if all(type(value) in JSON_TYPES for value in case.values()):
            return case
    raise ValueError(f"{task.name}: no case of {MAX_DRAWS} drawn can be sent as AutoMark's JSON")


def encode_input(task: Task, case: dict) -> dict:
    """``{arg: {"data": JSON value, "type": "ndarray" | "int" | "float" | "bool"}}``, in
    ``arg_keys`` order."""
    encoded = {}
    for name in task.arg_names:
        value = case[name]
        data = value.tolist() if isinstance(value, np.ndarray) else value
        encoded[name] = {"data": data, "type": JSON_TYPES[type(value)]}
    return encoded


def decode_input(task: Task, payload: dict) -> dict:
    """The arguments as AutoMark's client passes them: ``np.array(data)`` for an ndarray."""
    return {name: np.array(payload[name]["data"]) if payload[name]["type"] == "ndarray"
            else payload[name]["data"] for name in task.arg_names}


def input_json(task: Task, case: dict) -> str:
    """The ``input`` object as stored and sent."""
    return json.dumps(encode_input(task, case), separators=(",", ":"))


def expected_output(task: Task, stored_input: str):
    """``(case, expected output)`` for the inputs that were sent, as the client decodes them."""
    case = decode_input(task, json.loads(stored_input))
    return case, task.expected(case)


# ---------------------------------------------------------------- local tests
def _as_output(task: Task, value):
    """An output with ``.shape``: an ndarray, or a NumPy float64 for a scalar task."""
    if task.output == "scalar":
        return np.float64(np.asarray(value, dtype=np.float64).reshape(()))
    return np.asarray(value)


def local_tests_table(tasks, *, username: str = LOCAL_TESTS_USER) -> dict:
    """``{function: {"inputs": [{arg: value}], "outputs": [value]}}`` from the references."""
    table = {}
    for task in tasks:
        cases = make_cases(task, username, "local")
        table[task.name] = {"inputs": cases,
                            "outputs": [_as_output(task, task.expected(case)) for case in cases]}
    return table


def legacy_numpy_names(data: bytes) -> bytes:
    """Rewrite the ``GLOBAL`` opcodes of NumPy 2's modules to NumPy 1's names.

    Walks the opcodes with :func:`pickletools.genops`, so only the opcodes
    themselves are touched, never array data that happens to hold the same bytes.
    """
    out, start = io.BytesIO(), 0
    ops = list(pickletools.genops(data))
    for index, (opcode, arg, position) in enumerate(ops):
        if opcode.name == "GLOBAL" and arg in LEGACY_GLOBALS:
            end = ops[index + 1][2] if index + 1 < len(ops) else len(data)
            out.write(data[start:position])
            out.write(b"c" + LEGACY_GLOBALS[arg].encode("ascii"))
            start = end
    out.write(data[start:])
    return out.getvalue()


def build_local_tests(tasks) -> LocalTests:
    """The local-tests pickle (protocol 2) of ``tasks`` and its MD5."""
    data = legacy_numpy_names(pickle.dumps(local_tests_table(tasks), protocol=2))
    return LocalTests(data, hashlib.md5(data).hexdigest())
