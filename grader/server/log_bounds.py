"""What clients can make a server worker write to its log: a bounded number of lines a minute.

uvicorn logs a warning for every request it cannot parse and uvloop an error for every
transport that fails; each such line is the client's doing, so a client sending bad requests
in a loop writes the log as fast as it can send (a red team filled the disk at 32 MB/s through
an upgrade's log line). :class:`PerMinute` lets the first :data:`LINES_PER_MINUTE` records of
each kind (the message's template, not its text) through each minute; the first one let
through after some were held back says how many, so the operator still sees that it happens.
"""

from __future__ import annotations

import logging
import time

LINES_PER_MINUTE = 10
WINDOW_SECONDS = 60.0
LOGGERS = ("uvicorn.error", "asyncio", "grader.server")   # the ones client traffic reaches
MAX_KINDS = 1000   # templates tracked at once (a bound of its own: a template is code's text)


class PerMinute(logging.Filter):
    """At most ``lines`` records of each message template per ``seconds``; counts the rest."""

    def __init__(self, lines: int = LINES_PER_MINUTE, seconds: float = WINDOW_SECONDS,
                 clock=time.monotonic):
        super().__init__()
        self.lines, self.seconds, self.clock = lines, seconds, clock
        self.kinds: dict[str, list] = {}   # template -> [window start, let through, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        kind = str(record.msg)[:200]
        state = self.kinds.get(kind)
        if state is None or now - state[0] >= self.seconds:
            held = state[2] if state else 0
            if len(self.kinds) >= MAX_KINDS and state is None:
                self.kinds.clear()
            self.kinds[kind] = state = [now, 0, 0]
            if held:
                record.msg = (f"({held} more like the next line were not logged in the last "
                              f"{self.seconds:g} s) {record.msg}")
        if state[1] >= self.lines:
            state[2] += 1
            return False
        state[1] += 1
        return True


def bound_client_lines(loggers=LOGGERS) -> PerMinute:
    """Attach one :class:`PerMinute` to each of ``loggers`` (once per process); returns it."""
    for name in loggers:
        for existing in logging.getLogger(name).filters:
            if isinstance(existing, PerMinute):
                return existing
    bound = PerMinute()
    for name in loggers:
        logging.getLogger(name).addFilter(bound)
    return bound
