"""grader/server/log_bounds.py: a client cannot write the log faster than a few lines a minute."""

import logging

from grader.server.log_bounds import PerMinute, bound_client_lines


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def records(template: str, count: int, *args) -> list[logging.LogRecord]:
    return [logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1, template, args, None)
            for _ in range(count)]


def test_each_kind_gets_its_lines_a_minute_and_the_next_minute_says_how_many_were_held():
    clock = Clock()
    bound = PerMinute(lines=3, seconds=60, clock=clock)
    passed = [bound.filter(r) for r in records("Invalid HTTP request received.", 50)]
    assert passed == [True] * 3 + [False] * 47
    assert [bound.filter(r) for r in records("Fatal error on transport %s", 2, "x")] == [True] * 2
    clock.now = 61.0
    (first,) = records("Invalid HTTP request received.", 1)
    assert bound.filter(first)
    assert first.getMessage() == ("(47 more like the next line were not logged in the last "
                                  "60 s) Invalid HTTP request received.")
    (again,) = records("Invalid HTTP request received.", 1)
    assert bound.filter(again) and again.getMessage() == "Invalid HTTP request received."


def test_the_filter_is_attached_once_per_process():
    names = ("test.bounds.a", "test.bounds.b")
    try:
        first = bound_client_lines(names)
        assert bound_client_lines(names) is first
        assert [f for f in logging.getLogger(names[1]).filters if isinstance(f, PerMinute)] == \
            [first]
    finally:
        for name in names:
            for f in list(logging.getLogger(name).filters):
                logging.getLogger(name).removeFilter(f)
