"""Test vectors: what make release ships instead of the references."""

import numpy as np
import pytest

from grader.core import checking, vectors
from grader.core.tasks import TASKS, get_task
from grader.release.vectors import write_vectors


@pytest.fixture
def shipped_vectors(tmp_path, monkeypatch):
    monkeypatch.setenv(vectors.VECTORS_ENV, str(tmp_path))
    for phase, name in vectors.PHASE_FILES.items():
        write_vectors(tmp_path / name, TASKS, phase=phase)
    return tmp_path


def test_vectors_round_trip_every_task_in_argument_order(shipped_vectors):
    assert vectors.available()
    for phase in vectors.PHASE_FILES:
        loaded = vectors.load_phase(phase)
        assert set(loaded) == {task.name for task in TASKS}
        for task in TASKS:
            cases, expected = loaded[task.name]
            assert cases and len(cases) == len(expected)
            for case, want in zip(cases, expected):
                assert list(case) == list(task.arg_names)
                np.testing.assert_allclose(task.expected(case), want)


def test_vector_files_hold_plain_arrays_only(shipped_vectors):
    for name in vectors.PHASE_FILES.values():
        with np.load(shipped_vectors / name, allow_pickle=False) as archive:
            assert all(archive[key].dtype != object for key in archive.files)


def test_local_and_remote_sets_differ(shipped_vectors):
    task = get_task("conv_matrix")
    local, _ = vectors.load_phase("local")[task.name]
    remote, _ = vectors.load_phase("remote")[task.name]
    random_local = [c["matrix"].tobytes() for c in local]
    assert not any(c["matrix"].tobytes() in random_local for c in remote if c["matrix"].size > 9)


def test_checks_use_the_vectors_when_shipped(shipped_vectors, monkeypatch):
    def no_reference(self):
        raise LookupError("no references in the student kit")
    monkeypatch.setattr(type(TASKS[0]), "reference", property(no_reference))
    task = get_task("box_blur")

    def box_blur(image, box_size):
        from solutions import box_blur as reference
        return reference(image, box_size)
    assert checking.check_function(task, box_blur, "anyone").passed

    def box_blur(image, box_size):  # noqa: F811 - the sum, not the mean
        from solutions import box_blur as reference
        return reference(image, box_size) * box_size ** 2
    assert not checking.check_function(task, box_blur, "anyone").passed


def test_missing_vectors_say_so(tmp_path, monkeypatch):
    monkeypatch.setenv(vectors.VECTORS_ENV, str(tmp_path))
    assert not vectors.available()
    with pytest.raises(FileNotFoundError, match="no test vectors"):
        vectors.load_phase("local")
