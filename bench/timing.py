"""Median-of-repeats timing, with the ours and baseline samples interleaved.

Interleaving (ours, baseline, ours, baseline, ...) means a burst of load from
another process hits both sides alike, so the ratio stays meaningful on a
busy machine even when the absolute times move.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable


def median(values) -> float:
    """The median of a non-empty sequence of numbers.

    Raises:
        ValueError: if ``values`` is empty.
    """
    ordered = sorted(float(v) for v in values)
    if not ordered:
        raise ValueError("median of an empty sequence")
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def ratio(ours: float | None, baseline: float | None) -> float | None:
    """``ours / baseline``, or None when either is missing or the baseline is not positive."""
    if ours is None or baseline is None or not baseline > 0 or not math.isfinite(baseline):
        return None
    return ours / baseline


@dataclass(frozen=True)
class Timing:
    """Seconds per call: the median over ``samples``, each averaged over ``number`` calls."""

    seconds: float
    samples: tuple[float, ...]
    number: int = 1


def calibrate(function: Callable[[], object], min_sample: float, max_number: int = 10_000) -> int:
    """How many calls make one sample last at least ``min_sample`` seconds (at least 1)."""
    number = 1
    while number < max_number:
        start = time.perf_counter()
        for _ in range(number):
            function()
        if time.perf_counter() - start >= min_sample:
            break
        number *= 2
    return min(number, max_number)


def _sample(function: Callable[[], object], number: int, setup: Callable[[], object] | None) -> float:
    if setup is not None:
        setup()
    start = time.perf_counter()
    for _ in range(number):
        function()
    return (time.perf_counter() - start) / number


def measure(function: Callable[[], object], *, repeats: int, min_sample: float = 0.0,
            setup: Callable[[], object] | None = None) -> Timing:
    """Time ``function()``: one warm-up call, then the median of ``repeats`` samples.

    Args:
        function: called without arguments.
        repeats: number of samples (at least 1).
        min_sample: with no ``setup``, calls per sample are raised until one sample
            lasts this long (fast functions are otherwise below the timer's noise).
        setup: called untimed before every sample (e.g. to reset a model); forces
            one call per sample.

    Returns:
        A :class:`Timing` in seconds per call.

    Raises:
        ValueError: if ``repeats`` < 1.
    """
    return measure_pair(function, None, repeats=repeats, min_sample=min_sample,
                        ours_setup=setup)[0]


def measure_pair(ours: Callable[[], object], baseline: Callable[[], object] | None, *,
                 repeats: int, min_sample: float = 0.0,
                 ours_setup: Callable[[], object] | None = None,
                 baseline_setup: Callable[[], object] | None = None,
                 warmups: tuple | None = None) -> tuple[Timing, Timing | None]:
    """Time two functions side by side, their samples interleaved.

    Arguments as in :func:`measure`; ``baseline`` may be None, and each side has
    its own optional setup. ``warmups`` may give a cheaper warm-up call per side
    (e.g. grading one notebook instead of the class); by default the warm-up is
    one call of the function itself.

    Returns:
        ``(ours, baseline)`` timings; the second is None without a baseline.

    Raises:
        ValueError: if ``repeats`` < 1.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    sides = [(ours, ours_setup)] + ([(baseline, baseline_setup)] if baseline is not None else [])
    warmups = warmups or (None, None)
    numbers = []
    for (function, setup), warmup in zip(sides, warmups):
        if setup is not None:
            setup()
        (warmup or function)()  # warm-up: caches, lazy imports, first-touch allocations
        fixed = setup is not None or min_sample <= 0
        numbers.append(1 if fixed else calibrate(function, min_sample))
    samples: list[list[float]] = [[] for _ in sides]
    for _ in range(repeats):
        for (function, setup), number, collected in zip(sides, numbers, samples):
            collected.append(_sample(function, number, setup))
    timings = [Timing(median(s), tuple(s), n) for s, n in zip(samples, numbers)]
    return timings[0], (timings[1] if baseline is not None else None)


def format_seconds(seconds: float | None) -> str:
    """``"812 ns"``, ``"12.3 µs"``, ``"4.56 ms"``, ``"1.23 s"``; ``"-"`` for None."""
    if seconds is None:
        return "-"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_ratio(value: float | None) -> str:
    """``"0.842x"``, ``"12.5x"``, ``"1.2e+05x"``; ``"-"`` for None.

    Three decimals below 10, so a ratio just over a target such as 1.2 does not
    print as 1.20x.
    """
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:.1e}x"
    if value >= 10:
        return f"{value:.1f}x"
    return f"{value:.3f}x"
