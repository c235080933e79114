"""What one benchmark row says: ours, the baseline, their ratio and the target."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bench.timing import format_ratio, format_seconds
from bench.timing import ratio as time_ratio

RATIO = "ratio"
SECONDS = "seconds"


@dataclass(frozen=True)
class Target:
    """A goal for a row: ``ratio <= limit`` or ``seconds < limit`` (absolute).

    Raises:
        ValueError: unknown kind or a limit that is not a positive number.
    """

    kind: str
    limit: float

    def __post_init__(self):
        if self.kind not in (RATIO, SECONDS):
            raise ValueError(f"target kind must be {RATIO!r} or {SECONDS!r}, got {self.kind!r}")
        if not (isinstance(self.limit, (int, float)) and math.isfinite(self.limit) and self.limit > 0):
            raise ValueError(f"target limit must be a positive number, got {self.limit!r}")

    def met(self, ours_seconds: float | None, ratio: float | None) -> bool:
        """Whether the measurement meets the target (a missing value never does)."""
        if self.kind == RATIO:
            return ratio is not None and ratio <= self.limit
        return ours_seconds is not None and ours_seconds < self.limit

    def __str__(self) -> str:
        if self.kind == RATIO:
            return f"<= {self.limit:g}x"
        return f"< {format_seconds(self.limit)}"


def ratio_at_most(limit: float) -> Target:
    return Target(RATIO, limit)


def seconds_below(limit: float) -> Target:
    return Target(SECONDS, limit)


@dataclass(frozen=True)
class Row:
    """One line of the table.

    Attributes:
        section: the section that measured it, e.g. ``"conv_matrix"``.
        name: what was timed, e.g. ``"256x256 k3x3"``.
        ours_seconds: the kit's median seconds per call.
        baseline: what the baseline is, e.g. ``"scipy.ndimage.correlate"``.
        baseline_seconds: the baseline's median seconds per call (None: no baseline).
        target: the goal, or None for a row that only informs.
        check: the correctness check done before timing, e.g. ``"max|diff| 2e-15"``.
        note: anything else worth one line (threads, throughput).
    """

    section: str
    name: str
    ours_seconds: float
    baseline: str = ""
    baseline_seconds: float | None = None
    target: Target | None = None
    check: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """ours / baseline: below 1 means the kit is faster."""
        return time_ratio(self.ours_seconds, self.baseline_seconds)

    @property
    def met(self) -> bool | None:
        """True or False against the target; None for a row without one."""
        return None if self.target is None else self.target.met(self.ours_seconds, self.ratio)

    def to_dict(self) -> dict:
        return {
            "section": self.section, "name": self.name,
            "ours_seconds": self.ours_seconds, "baseline": self.baseline,
            "baseline_seconds": self.baseline_seconds, "ratio": self.ratio,
            "target": None if self.target is None else str(self.target),
            "target_kind": None if self.target is None else self.target.kind,
            "target_limit": None if self.target is None else self.target.limit,
            "met": self.met, "check": self.check, "note": self.note, **self.extra,
        }

    def cells(self) -> list[str]:
        """The row as the table prints it."""
        met = {True: "yes", False: "NO", None: ""}[self.met]
        return [self.section, self.name, format_seconds(self.ours_seconds), self.baseline or "-",
                format_seconds(self.baseline_seconds), format_ratio(self.ratio),
                "" if self.target is None else str(self.target), met, self.check, self.note]


@dataclass(frozen=True)
class Skipped:
    """A row or section that could not run, and why."""

    section: str
    name: str
    reason: str

    def to_dict(self) -> dict:
        return {"section": self.section, "name": self.name, "reason": self.reason}
