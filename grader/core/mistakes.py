"""Recognise a known mistake from a student's wrong answers: one rule for notebook and class.

A known mistake (``grader/classgrade/mistakes.py`` declares them with the
references) is recognised when its outputs reproduce every wrong answer the
student's function gave. Some mistakes give no wrong answer at all: they are
right on some inputs and raise on the others (a padding fixed at 1 with the
window centred raises for a 5x5 kernel; ``np.sum(weights ** 2)`` raises for a
list of arrays). When every failure is an exception, the rule on the error
applies: the mistake raises on exactly the cases the student's code raised on
and gives the student's answer on every case it passed. Where its outputs come from differs by kit, the rule
does not: the instructor's kit computes them with the variant itself (through
the references bridge), the student kit reads them from ``mistakes.npz``, which
``make release`` writes beside the test vectors for the local cases.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from grader.core import vectors
from grader.core.tasks import REFERENCES_MODULE

MISTAKES_FILE = "mistakes.npz"


@dataclass(frozen=True)
class KnownMistake:
    """A known wrong variant, with a way to get its output on a case.

    Attributes:
        name: a few words, e.g. ``"true convolution (kernel flipped)"``.
        explanation: what went wrong and how to fix it.
        output: ``output(index, case) -> answer`` (raises where the variant does not apply).
    """

    name: str
    explanation: str
    output: Callable

    @property
    def label(self) -> str:
        """``"name: explanation"``, as the feedback and the notebook show it."""
        return f"{self.name}: {self.explanation}"


def same_answer(answer, output) -> bool:
    """True when ``answer`` is ``output`` within AutoMark's tolerance, shape and NaN included."""
    want = np.asarray(output, dtype=np.float64)
    got = np.asarray(answer, dtype=np.float64)
    if got.size == 1 and want.size == 1:
        got, want = got.reshape(()), want.reshape(())
    return got.shape == want.shape and bool(
        np.allclose(got, want, rtol=1e-5, atol=1e-5, equal_nan=True))


def recognise(known, wrong, raised=(), passed=()) -> KnownMistake | None:
    """The first known mistake that reproduces the student's failures, or None.

    With wrong answers, a mistake reproduces every one of them (the cases that
    raised are not compared). With none, the rule on the error: the mistake
    raises on every case in ``raised`` and on no case in ``passed``, where it
    gives the student's answer; it needs at least one case of each.

    Args:
        known: :class:`KnownMistake` candidates, in order of preference.
        wrong: ``(case index, case inputs, plain answer)`` of each case failed with
            an answer (cases that raised or timed out are not compared).
        raised: ``(case index, case inputs)`` of each case on which the code raised.
        passed: ``(case index, case inputs, plain answer)`` of each case it passed.
    """
    if wrong:
        return next((m for m in known if _reproduces(m, wrong)), None)
    if raised and passed:
        return next((m for m in known if _raises_on_all(m, raised) and _reproduces(m, passed)), None)
    return None


def _reproduces(mistake: KnownMistake, answered) -> bool:
    try:
        return all(same_answer(answer, mistake.output(index, case)) for index, case, answer in answered)
    except Exception:  # noqa: BLE001 - a variant may not apply to every input
        return False


def _raises_on_all(mistake: KnownMistake, raised) -> bool:
    for index, case in raised:
        try:
            mistake.output(index, case)
        except Exception:  # noqa: BLE001 - raising is what the rule looks for
            continue
        return False
    return True


def known_mistakes(task_name: str) -> tuple[KnownMistake, ...]:
    """The task's known mistakes in this kit: from the references, else from ``mistakes.npz``."""
    try:
        bridge = importlib.import_module(REFERENCES_MODULE)
    except ImportError:
        return _from_vectors(task_name)
    return tuple(KnownMistake(m.name, m.explanation, _called(m.variant))
                 for m in bridge.mistakes_for(task_name))


def _called(variant):
    def output(index, case):
        return variant(**{name: _copy(value) for name, value in case.items()})
    return output


def _copy(value):
    return [item.copy() for item in value] if isinstance(value, list) else (
        value.copy() if isinstance(value, np.ndarray) else value)


def _from_vectors(task_name: str) -> tuple[KnownMistake, ...]:
    path = vectors.vectors_dir() / MISTAKES_FILE
    if not path.is_file():
        return ()
    return _load(str(path), path.stat().st_mtime).get(task_name, ())


@lru_cache(maxsize=2)
def _load(path: str, mtime: float) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        index = json.loads(str(archive["__index__"]))
        outputs = {key: archive[key] for key in archive.files if key != "__index__"}
    found = {}
    for task_name, entries in index.items():
        found[task_name] = tuple(
            KnownMistake(entry["name"], entry["explanation"], _stored(outputs, f"{task_name}/{number}"))
            for number, entry in enumerate(entries))
    return found


def _stored(outputs: dict, prefix: str):
    def output(index, case):
        return outputs[f"{prefix}/{index:03d}"]  # KeyError where the variant raised: not this one
    return output


def write_mistakes(path, tasks, local_cases: dict, variants_for) -> int:
    """Write ``mistakes.npz``: every known mistake's output on every local case (release).

    Args:
        path: the file.
        tasks: the task declarations.
        local_cases: ``{task name: [case dict]}``, the local vectors' cases, in order.
        variants_for: ``variants_for(task name) -> [Mistake]`` (name, explanation, variant).

    Returns:
        The number of outputs written.
    """
    arrays, index = {}, {}
    for task in tasks:
        entries = []
        for number, mistake in enumerate(variants_for(task.name)):
            entries.append({"name": mistake.name, "explanation": mistake.explanation})
            for case_number, case in enumerate(local_cases[task.name]):
                try:
                    answer = np.asarray(_called(mistake.variant)(case_number, case), dtype=np.float64)
                except Exception:  # noqa: BLE001 - the variant raises here, as the student's would
                    continue
                arrays[f"{task.name}/{number}/{case_number:03d}"] = answer
        index[task.name] = entries
    arrays["__index__"] = np.array(json.dumps(index))
    np.savez_compressed(path, **arrays)
    return len(arrays) - 1
