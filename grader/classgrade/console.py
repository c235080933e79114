"""What ``python -m grader grade`` shows on the terminal: progress, then the class at a glance."""

from __future__ import annotations

import sys


class ProgressBar:
    """A one-line text progress bar on a stream (a plain line per item when not a terminal)."""

    def __init__(self, total: int, stream=sys.stderr, width: int = 28):
        self.total, self.done, self.stream, self.width = total, 0, stream, width
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        filled = self.width * self.done // max(self.total, 1)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} {label}"
        if self.tty:
            self.stream.write("\r" + line.ljust(79)[:79] + ("\n" if self.done == self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def class_table(run) -> str:
    """The class at a glance: one line per student, score and percent."""
    possible = sum(run.points.values())
    width = max([len("student")] + [len(s.username) for s in run.students])
    lines = [f"{'student':<{width}} {'score':>7} {'%':>6}  {'passed':>6}  status",
             "-" * (width + 40)]
    for student in run.students:
        result = run.results.get(student.username)
        if result is None:
            lines.append(f"{student.username:<{width}} {'':>7} {'':>6}  {'':>6}  no submission")
            continue
        score = result.score(run.points)
        percent = 100.0 * score / possible if possible else 0.0
        n_passed = sum(t.passed for t in result.tasks)
        status = f"not gradable: {result.error}" if result.error else "graded"
        lines.append(f"{student.username:<{width}} {score:>7.1f} {percent:>5.1f}%  "
                     f"{n_passed:>2}/{len(result.tasks):<3}  {status[:70]}")
    return "\n".join(lines)
