"""What one request may cost, derived from the protocol: the sizes the server accepts.

The longest request AutoMark needs is ``GET /check_answer/<user>/<function>/<ipd>/<answer>``
with an answer of at most :data:`MAX_ANSWER_CHARS` of JSON; percent-encoded, every
character may take three bytes. Every other parameter (a username, a function, an
ipd, an MD5) is at most :data:`MAX_PARAM_CHARS` characters. So no request target is
longer than :data:`MAX_TARGET_BYTES`, and the HTTP layer (:mod:`grader.server.http`)
refuses a longer one as soon as its bytes exceed it, before any decoding; the
application checks each segment's length before decoding it.
"""

from __future__ import annotations

MAX_ANSWER_CHARS = 1 << 20          # 1 MiB of JSON: a 32x32 answer is 25-40 KB
MAX_ENCODED_ANSWER_BYTES = 3 * MAX_ANSWER_CHARS   # every character as %XX
MAX_PARAM_CHARS = 1024              # a username, function, ipd or MD5
MAX_PARAM_BYTES = 3 * MAX_PARAM_CHARS
LONGEST_ENDPOINT = "/check_answer/"
MAX_TARGET_BYTES = len(LONGEST_ENDPOINT) + 3 * (MAX_PARAM_BYTES + 1) + MAX_ENCODED_ANSWER_BYTES
MAX_HEADER_BYTES = 64 << 10         # names and values together
MAX_HEADERS = 100
# The whole request head: method, target, version, headers with their separators.
MAX_HEAD_BYTES = MAX_TARGET_BYTES + MAX_HEADER_BYTES + 4 * MAX_HEADERS + 64
