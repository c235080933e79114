"""Every reference reproduces every case the real AutoMark server handed out."""

import json

import numpy as np
import pytest
from conftest import SHARED

import solutions

CONFORMANCE = SHARED / "conformance"
PY_TYPES = {"float": float, "int": int, "bool": bool}

pytestmark = pytest.mark.skipif(not (CONFORMANCE / "index.json").is_file(),
                                reason="../shared/conformance is not beside the repository")


def _index():
    return json.loads((CONFORMANCE / "index.json").read_text())


@pytest.fixture(scope="module")
def archive():
    with np.load(CONFORMANCE / "automark_aml18_local_tests.npz", allow_pickle=False) as data:
        yield {key: data[key] for key in data.files}


def _cases(archive, name, info):
    for case in range(info["cases"]):
        prefix = f"{name}/{case:03d}"
        kwargs = {arg: archive[f"{prefix}/in/{arg}"] if kind == "ndarray"
                  else PY_TYPES[kind](archive[f"{prefix}/in/{arg}"])
                  for arg, kind in info["args"].items()}
        yield case, kwargs, archive[f"{prefix}/out"]


@pytest.mark.parametrize("name", sorted(_index()) if (CONFORMANCE / "index.json").is_file() else [])
def test_reference_reproduces_every_automark_case(archive, name):
    info = _index()[name]
    reference = getattr(solutions, name)
    failures = []
    for case, kwargs, want in _cases(archive, name, info):
        got = np.asarray(reference(**kwargs))
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-5):
            failures.append(case)
    assert info["cases"] == 100
    assert failures == []


def test_conformance_covers_the_eighteen_tasks():
    from grader.core.tasks import task_names
    assert sorted(_index()) == sorted(task_names())
