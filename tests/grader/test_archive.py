"""grader.core.archive: many cases' arguments and expected outputs in one .npz file."""

import json

import numpy as np
import pytest

from grader.core import archive
from grader.core.cases import make_cases
from grader.core.tasks import TASKS


@pytest.mark.parametrize("task", TASKS, ids=[t.name for t in TASKS])
def test_cases_round_trip_with_their_kinds_and_argument_order(task, tmp_path):
    cases = make_cases(task, "alice", "local")
    archive.write_cases(tmp_path / "c.npz", {task.name: {"cases": cases, "n_local": 3}})
    (got, expected, n_local), = archive.read_cases(tmp_path / "c.npz").values()
    assert expected is None and n_local == 3 and len(got) == len(cases)
    for want, case in zip(cases, got):
        assert list(case) == list(want)
        for name, value in want.items():
            if isinstance(value, list):
                assert [a.tolist() for a in case[name]] == [a.tolist() for a in value]
            elif isinstance(value, np.ndarray):
                assert case[name].dtype == value.dtype and case[name].tolist() == value.tolist()
            else:
                assert type(case[name]) is type(value) and case[name] == value


@pytest.mark.parametrize("value", [
    np.array([[0, 128, 255]], dtype=np.uint8),          # an image as the lesson loads it
    np.array([[1, -2], [3, 4]], dtype=np.int64),         # np.array([[1, 2], ...]) in a notebook
    np.array([1, -1, 1], dtype=np.int32),
    np.array([[True, False]]),                           # a dropout mask, rng.random(s) > p
    np.array([0.5, 1.5], dtype=np.float32),
])
def test_arrays_keep_their_dtype_on_the_way_to_the_sandbox(value, tmp_path):
    archive.write_cases(tmp_path / "c.npz", {"conv_matrix": {"cases": [{"matrix": value}]}})
    (case,), _, _ = archive.read_cases(tmp_path / "c.npz")["conv_matrix"]
    assert case["matrix"].dtype == value.dtype and np.array_equal(case["matrix"], value)


@pytest.mark.parametrize("value", [np.array([object()]), np.array(["a"]), np.array([1j])])
def test_arrays_the_sandbox_could_not_read_back_are_refused(value, tmp_path):
    with pytest.raises(TypeError, match="carries bool, integer and float arrays"):
        archive.write_cases(tmp_path / "c.npz", {"t": {"cases": [{"x": value}]}})


@pytest.mark.parametrize("name", ["conv_matrix", "box_blur"])
def test_integer_images_reach_the_sandbox_as_integers(name, tmp_path):
    task = next(t for t in TASKS if t.name == name)
    cases = make_cases(task, "alice", "local") + make_cases(task, "alice", "remote")
    archive.write_cases(tmp_path / "c.npz", {name: {"cases": cases}})
    (got, _, _), = archive.read_cases(tmp_path / "c.npz").values()
    image = task.arg_names[0]
    assert {c[image].dtype.name for c in got} >= {"uint8", "int64", "float64"}
    assert [c[image].dtype for c in got] == [c[image].dtype for c in cases]


def test_expected_outputs_travel_with_the_cases(tmp_path):
    cases = [{"x_input": np.ones(2)}, {"x_input": np.zeros(2)}]
    archive.write_cases(tmp_path / "c.npz", {"mse_forward": {"cases": cases, "expected": [1.5, 2.0],
                                                         "output": "scalar"}})
    _, expected, _ = archive.read_cases(tmp_path / "c.npz")["mse_forward"]
    assert expected == [1.5, 2.0] and all(type(v) is float for v in expected)


def test_a_case_of_another_type_is_refused(tmp_path):
    with pytest.raises(TypeError, match="argument 'x' of a case is a dict"):
        archive.write_cases(tmp_path / "c.npz", {"t": {"cases": [{"x": {"a": 1}}]}})


def test_the_archive_is_plain_arrays(tmp_path):
    archive.write_cases(tmp_path / "c.npz", {"relu_forward": {"cases": [{"x_input": np.ones(2)}]}})
    with np.load(tmp_path / "c.npz", allow_pickle=False) as loaded:
        assert sorted(loaded.files) == ["__index__", "data/<f8"]
        index = json.loads(str(loaded["__index__"]))
    assert index["tasks"]["relu_forward"]["args"] == [{"x_input": ["array", "<f8", 0, [2]]}]


def test_one_member_per_dtype_however_many_cases(tmp_path):
    cases = [{"matrix": np.full((3, 4), i, dtype=np.uint8), "kernel": np.ones((3, 3)) * i,
              "scale": float(i), "masks": [np.ones(2, bool), np.zeros(3, bool)]} for i in range(50)]
    archive.write_cases(tmp_path / "c.npz", {"t": {"cases": cases}})
    with np.load(tmp_path / "c.npz", allow_pickle=False) as loaded:
        assert sorted(loaded.files) == ["__index__", "data/<f8", "data/|b1", "data/|u1"]
    (got, _, _), = archive.read_cases(tmp_path / "c.npz").values()
    assert [c["matrix"][0, 0] for c in got] == list(range(50))
    assert [c["scale"] for c in got] == [float(i) for i in range(50)]
    assert got[7]["masks"][1].shape == (3,) and not got[7]["masks"][1].any()


def _rewrite_index(path, change):
    with np.load(path, allow_pickle=False) as loaded:
        members = {name: loaded[name] for name in loaded.files}
    index = json.loads(str(members["__index__"]))
    change(index)
    members["__index__"] = np.array(json.dumps(index))
    np.savez(path, **members)


@pytest.mark.parametrize("change, said", [
    (lambda index: index["tasks"]["t"]["args"][0]["x"].__setitem__(2, 10**6), "does not fit"),
    (lambda index: index["tasks"]["t"]["args"][0]["x"].__setitem__(3, [10**6]), "does not fit"),
    (lambda index: index["tasks"]["t"]["args"][0]["x"].__setitem__(2, -1), "does not fit"),
    (lambda index: index["tasks"]["t"]["args"][0]["x"].__setitem__(1, "<c16"), "does not fit"),
    (lambda index: index["tasks"]["t"]["args"][0].__setitem__("x", ["pickle", 1]), "unknown ref"),
    (lambda index: index.__setitem__("format", 1), "not a cases archive of format 2"),
])
def test_an_index_that_does_not_fit_its_members_is_refused(tmp_path, change, said):
    path = tmp_path / "c.npz"
    archive.write_cases(path, {"t": {"cases": [{"x": np.arange(6.0).reshape(2, 3)}]}})
    _rewrite_index(path, change)
    with pytest.raises(ValueError, match=said):
        archive.read_cases(path)


def test_arguments_read_back_cannot_be_written_through(tmp_path):
    archive.write_cases(tmp_path / "c.npz", {"t": {"cases": [{"x": np.ones(3)}, {"x": np.ones(3)}]}})
    (got, _, _), = archive.read_cases(tmp_path / "c.npz").values()
    with pytest.raises(ValueError):
        got[0]["x"][0] = 5.0
