"""What ``python -m grader grade`` shows on the terminal: progress, then the class at a glance.

Every string that comes from a student (a folder's name, an error message) goes
through :func:`printable` first: an escape sequence in it could clear the screen
or print a fake line, so control characters are shown, never sent.
"""

from __future__ import annotations

import re
import sys

# C0 and C1 controls (ESC, CR, LF, TAB, CSI ...), DEL, Unicode line separators, zero-width and
# bidirectional formatting characters, and lone surrogates (a file name that is not UTF-8).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069"
                          "\ufeff\ud800-\udfff]")


def printable(text) -> str:
    """``text`` on one line, every control or invisible character shown as an escape.

    ``"\\x1b[2J"`` becomes the six visible characters ``\\x1b[2J``; a newline becomes
    ``\\n``. Safe to print on a terminal and to put in a one-line field of a file.
    """
    return _UNPRINTABLE.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"),
                            str(text))


class ProgressBar:
    """A one-line text progress bar on a stream (a plain line per item when not a terminal)."""

    def __init__(self, total: int, stream=sys.stderr, width: int = 28):
        self.total, self.done, self.stream, self.width = total, 0, stream, width
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        filled = self.width * self.done // max(self.total, 1)
        line = (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{printable(label)}")
        if self.tty:
            self.stream.write("\r" + line.ljust(79)[:79] + ("\n" if self.done == self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def class_table(run) -> str:
    """The class at a glance: one line per student, score and percent."""
    possible = sum(run.points.values())
    names = {student.username: printable(student.username) for student in run.students}
    width = max([len("student")] + [len(name) for name in names.values()])
    lines = [f"{'student':<{width}} {'score':>7} {'%':>6}  {'passed':>6}  status",
             "-" * (width + 40)]
    for student in run.students:
        name = names[student.username]
        result = run.results.get(student.username)
        if result is None:
            lines.append(f"{name:<{width}} {'':>7} {'':>6}  {'':>6}  no submission")
            continue
        score = result.score(run.points)
        percent = 100.0 * score / possible if possible else 0.0
        n_passed = sum(t.passed for t in result.tasks)
        status = f"not gradable: {printable(result.error)}" if result.error else "graded"
        lines.append(f"{name:<{width}} {score:>7.1f} {percent:>5.1f}%  "
                     f"{n_passed:>2}/{len(result.tasks):<3}  {status[:70]}")
    return "\n".join(lines)
