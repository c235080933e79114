"""Percent-decoding in linear time with NumPy: the same bytes as ``urllib.parse.unquote_to_bytes``.

The standard library's decoder works one ``%`` at a time in Python: a path of
3 MiB holding a million ``%20`` costs it about half a second of the event loop.
Here the escapes are found and replaced by array operations, a few tens of
milliseconds for the longest request the server accepts
(:data:`grader.server.limits.MAX_TARGET_BYTES`). Like the standard library, a
``%`` not followed by two hexadecimal digits stays as it is.
"""

from __future__ import annotations

import numpy as np

_HEX_DIGITS = {ord(c): int(c, 16) for c in "0123456789abcdefABCDEF"}
# PAIR_VALUE[a, b]: the byte that "%ab" stands for, or -1 when a or b is not a hex digit.
PAIR_VALUE = np.full((256, 256), -1, dtype=np.int16)
for _high, _high_value in _HEX_DIGITS.items():
    for _low, _low_value in _HEX_DIGITS.items():
        PAIR_VALUE[_high, _low] = 16 * _high_value + _low_value
PERCENT = ord("%")


def percent_decode(raw: bytes) -> bytes:
    """``raw`` with every ``%XX`` escape replaced by the byte it stands for.

    Two escapes never overlap (a valid escape's digits are not ``%``), so all of them
    are found at once: the marks followed by two hex digits.

    Args:
        raw: percent-encoded bytes (a path segment), any length.

    Returns:
        The decoded bytes, equal to ``urllib.parse.unquote_to_bytes(raw)``.
    """
    if b"%" not in raw:
        return raw
    # An answer as the course's client sends it (requests' requote_uri) escapes only its
    # spaces: when every % begins a %20, one replace is the whole decoding (a 5-number answer
    # 0.5 us against 12, a 432-number one 16 against 26).
    spaces = raw.replace(b"%20", b" ")
    if b"%" not in spaces:
        return spaces
    data = np.frombuffer(raw, dtype=np.uint8)
    marks = np.flatnonzero(data[:-2] == PERCENT)            # (n_marks,) with two bytes after
    values = PAIR_VALUE[data[marks + 1], data[marks + 2]]   # (n_marks,)
    valid = values >= 0
    marks = marks[valid]
    decoded = data.copy()
    decoded[marks] = values[valid]
    keep = np.ones(data.size, dtype=bool)
    keep[marks + 1] = False
    keep[marks + 2] = False
    return decoded[keep].tobytes()
