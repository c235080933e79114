"""How much a run measures, and where it reports what it could not measure."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from bench.rows import Skipped


@dataclass
class Settings:
    """Shared by every section.

    Attributes:
        quick: fewer sizes and repeats (the smoke test's mode).
        repeats: samples per measurement (the median is kept).
        min_sample: seconds one sample of a fast call should last at least.
        threads: threads numpy's BLAS uses; PyTorch is given the same.
        log: where progress and skip reasons are printed.
        skipped: what could not run, and why (filled in by the sections).
    """

    quick: bool = False
    repeats: int = 7
    min_sample: float = 0.02
    threads: int = 1
    log: object = sys.stderr
    skipped: list = field(default_factory=list)

    @classmethod
    def for_mode(cls, *, quick: bool, threads: int, log=sys.stderr) -> "Settings":
        if quick:
            return cls(quick=True, repeats=3, min_sample=0.005, threads=threads, log=log)
        return cls(quick=False, repeats=7, min_sample=0.02, threads=threads, log=log)

    def say(self, message: str) -> None:
        print(message, file=self.log, flush=True)

    def skip(self, section: str, name: str, reason: str) -> None:
        """Record and print why something was not measured."""
        self.skipped.append(Skipped(section, name, reason))
        self.say(f"  skipped {section} {name}: {reason}")
