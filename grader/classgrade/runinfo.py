"""How a class run grades: the record every output carries (gradebook, report, CSV, feedback)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache

from grader.client import paths


@lru_cache(maxsize=1)
def grader_version() -> str:
    """A hash of the grader's and the references' source: a new version regrades everything.

    Computed once per process: the code a process grades with is the code it loaded.
    """
    digest = hashlib.sha256()
    for folder in ("grader", "solutions"):
        for path in sorted((paths.KIT_ROOT / folder).rglob("*.py")):
            digest.update(path.relative_to(paths.KIT_ROOT).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class RunInfo:
    """The settings of one grading run.

    Attributes:
        started_at: ISO 8601, UTC.
        grader_version: :func:`grader_version`.
        sandbox_mode: ``"bwrap"`` or ``"plain"``.
        sandbox: how the sandbox was made, e.g. ``bwrap (bubblewrap 0.11.0 from system)``.
        tasks: the graded tasks, in order.
        limits: the sandbox limits, ``{name: value}``.
        points: ``{task: points}``.
        deadlines: the deadline settings (``deadline``, ``late_policy``, ``lms_timezone``),
            ``{}`` for a run without a deadline, ``{"not_applied": ..., "source": ...,
            "why": ...}`` for one whose course.toml deadline met hand-ins without times
            (:func:`~grader.classgrade.late_handins.not_applied`). Like points, they only
            weigh verdicts.
    """

    started_at: str
    grader_version: str
    sandbox_mode: str
    sandbox: str
    tasks: tuple[str, ...]
    limits: dict = field(default_factory=dict)
    points: dict = field(default_factory=dict)
    deadlines: dict = field(default_factory=dict)

    @classmethod
    def now(cls, *, sandbox_mode: str, sandbox: str, tasks, limits: dict, points: dict,
            deadlines: dict | None = None) -> "RunInfo":
        """A run starting now, graded by this kit's grader."""
        return cls(started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   grader_version=grader_version(), sandbox_mode=sandbox_mode, sandbox=sandbox,
                   tasks=tuple(tasks), limits=dict(limits), points=dict(points),
                   deadlines=dict(deadlines or {}))

    @property
    def settings_key(self) -> str:
        """What a task's verdict depends on besides the code: grader, sandbox mode, limits.

        Points and deadlines only weigh verdicts (every export is recomputed from them) and
        tasks are stored one by one, so neither is part of the key.
        """
        key = json.dumps({"grader": self.grader_version, "sandbox": self.sandbox_mode,
                          "limits": self.limits}, sort_keys=True)
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def describe(self) -> list[str]:
        """Lines for a report or a feedback file, deterministic for a given run."""
        from grader.classgrade.late_handins import not_applied_words, zone_words
        limits = ", ".join(f"{name} {value:g}" if isinstance(value, (int, float)) else
                           f"{name} {value or '-'}" for name, value in self.limits.items())
        return [f"Graded on {self.started_at} by grader {self.grader_version}",
                f"Sandbox: {self.sandbox}",
                f"Tasks: {', '.join(self.tasks)}",
                f"Limits: {limits}"] + ([
                    f"Deadline: {self.deadlines.get('deadline')}, late policy "
                    f"{self.deadlines.get('late_policy')}, download times read in "
                    f"{zone_words(self.deadlines)}"]
                    if self.deadlines.get("deadline") else
                    [f"Deadline: none applied ({not_applied_words(self.deadlines)})"]
                    if self.deadlines.get("not_applied") else [])

    def to_dict(self) -> dict:
        """JSON-ready, with the settings key."""
        return {**asdict(self), "tasks": list(self.tasks), "settings_key": self.settings_key}
