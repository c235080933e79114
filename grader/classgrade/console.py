"""What ``python -m grader grade`` shows on the terminal: progress, then the class at a glance.

The progress is tqdm's bar on a terminal (done, elapsed, ETA, what runs now) and
one plain line per submission in a log; the class table shortens a long status
at a word, never mid-word.

Every string that comes from a student (a folder's name, an error message) goes
through :func:`printable` first: an escape sequence in it could clear the screen
or print a fake line, so control characters are shown, never sent.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
import threading
import time

from tqdm import tqdm

from grader.classgrade import failures

# C0 and C1 controls (ESC, CR, LF, TAB, CSI ...), DEL, Unicode line separators, zero-width and
# bidirectional formatting characters, and lone surrogates (a file name that is not UTF-8).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069"
                          "\ufeff\ud800-\udfff]")


BAR_FORMAT = ("{desc} {n_fmt}/{total_fmt} |{bar:20}| elapsed {elapsed}, ETA {remaining}"
              "{postfix}")
STATUS_ROOM = 70


def printable(text) -> str:
    """``text`` on one line, every control or invisible character shown as an escape.

    ``"\\x1b[2J"`` becomes the six visible characters ``\\x1b[2J``; a newline becomes
    ``\\n``. Safe to print on a terminal and to put in a one-line field of a file.
    """
    return _UNPRINTABLE.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"),
                            str(text))


class ProgressBar:
    """Progress of a class run: a tqdm bar on a terminal, a plain line per submission elsewhere.

    Both say how many are done, the elapsed time, an ETA (from the rate so far), which
    submission finished last and which are running now. A local pool starts submissions
    in the order they were queued, so the running ones are the first ``workers`` of
    ``queue`` that have not finished. Names pass through :func:`printable`. On a terminal a
    daemon thread redraws the bar every second (the elapsed time moves while nothing
    finishes): make the bar once a forking pool has started its processes.

    Args:
        total: submissions to grade.
        stream: where it goes (default stderr).
        queue: their usernames, in the order they are started.
        workers: how many run at once.
    """

    def __init__(self, total: int, stream=sys.stderr, *, queue=(), workers: int = 1):
        self.total, self.done, self.stream, self.workers = total, 0, stream, max(1, workers)
        self.waiting = list(queue)
        self.started = time.monotonic()
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.bar = None
        if self.tty and total:
            sized = _columns(stream) > 0  # else (a pty of size 0) tqdm would draw nothing
            self.bar = tqdm(total=total, file=stream, desc="grading", unit="submission",
                            dynamic_ncols=sized, ncols=None if sized else _columns(None),
                            nrows=None if sized else 24,
                            mininterval=0, bar_format=BAR_FORMAT)
            self.bar.set_postfix_str(self._running(), refresh=True)
            self.ticking = threading.Event()
            threading.Thread(target=self._tick, daemon=True, name="progress-bar").start()

    def _tick(self) -> None:
        """Redraw every second, so the elapsed time moves while nothing finishes."""
        while not self.ticking.wait(1.0):
            bar = self.bar
            if bar is not None:
                bar.refresh()

    def _running(self) -> str:
        running = [printable(name) for name in self.waiting[:self.workers]]
        return f"now: {', '.join(running)}" if running else "done"

    def step(self, label: str, finished: str | None = None) -> None:
        """One more submission done: ``label`` says which (and how long it took)."""
        self.done += 1
        if finished in self.waiting:
            self.waiting.remove(finished)
        status = f"last: {printable(label)} | {self._running()}"
        if self.bar is not None:
            self.bar.set_postfix_str(status, refresh=False)
            self.bar.update(1)
            return
        elapsed = time.monotonic() - self.started
        remaining = elapsed / self.done * max(self.total - self.done, 0)
        self.stream.write(f"[{self.done}/{self.total}] {printable(label)}; elapsed "
                          f"{tqdm.format_interval(elapsed)}, ETA {tqdm.format_interval(remaining)}; "
                          f"{self._running()}\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line (a terminal); nothing otherwise."""
        if self.bar is not None:
            self.ticking.set()
            self.bar.close()
            self.bar = None


def _columns(stream) -> int:
    """The width of ``stream``'s terminal (0 when it says none), or of the environment's."""
    if stream is None:
        return shutil.get_terminal_size((100, 24)).columns
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return 0


def shorten(text: str, width: int, placeholder: str = "...") -> str:
    """``text`` in at most ``width`` characters, cut after a whole word and ended by
    ``placeholder`` when it is longer (cut mid-word only when no word fits)."""
    if len(text) <= width:
        return text
    room = max(width - len(placeholder), 0)
    cut = text[:room + 1].rsplit(" ", 1)[0] if " " in text[:room + 1] else ""
    kept = cut.rstrip(" ,;:.") if len(cut) >= room // 2 else text[:room]
    return kept + placeholder


def class_table(run, width: int | None = None) -> str:
    """The class at a glance: one line per student, score and percent.

    A long status (a "not gradable" reason) is shortened at a word to fit ``width``
    (default: the terminal's; never under 70 characters of status): gradebook.csv and the
    student's feedback have it whole.
    """
    width = width or shutil.get_terminal_size((100, 24)).columns
    possible = sum(run.points.values())
    names = {student.username: printable(student.username) for student in run.students}
    name_width = max([len("student")] + [len(name) for name in names.values()])
    room = max(STATUS_ROOM, width - name_width - 29)
    lines = [f"{'student':<{name_width}} {'score':>7} {'%':>6}  {'passed':>6}  status",
             "-" * (name_width + 40)]
    for student in run.students:
        name = names[student.username]
        result = run.results.get(student.username)
        if result is None or failures.is_not_graded(result):
            status = ("no submission" if result is None else
                      f"not graded: {printable(failures.reason(result))}")
            lines.append(f"{name:<{name_width}} {'':>7} {'':>6}  {'':>6}  {shorten(status, room)}")
            continue
        late = run.late.get(student.username)
        score = result.score(run.points) * (late.factor if late is not None else 1.0)
        percent = 100.0 * score / possible if possible else 0.0
        n_passed = sum(t.passed for t in result.tasks)
        status = f"not gradable: {printable(result.error)}" if result.error else "graded"
        if late is not None and late.words:   # the score is after the policy, as in the exports
            status += f"; {late.words}"
        lines.append(f"{name:<{name_width}} {score:>7.1f} {percent:>5.1f}%  "
                     f"{n_passed:>2}/{len(result.tasks):<3}  {shorten(status, room)}")
    return "\n".join(lines)
