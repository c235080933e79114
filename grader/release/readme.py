"""The student kit's README: one text for a kit that checks offline and one built for a server.

``student_readme.md`` holds both. A line ``<!-- offline -->`` or ``<!-- server -->`` opens a
block kept only in that kit, ``<!-- end -->`` closes it; in a kit built with ``--server URL``,
``SERVER_URL`` becomes the server's address. Everything outside a block is in both.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE = Path(__file__).with_name("student_readme.md")
KINDS = ("offline", "server")
_OPEN = {f"<!-- {kind} -->": kind for kind in KINDS}
_END = "<!-- end -->"


def render(text: str, *, server: str | None) -> str:
    """``text`` with the blocks of the other kind of kit dropped and the markers removed.

    Args:
        text: the template (``student_readme.md``).
        server: the server's URL for a kit built for one, else None.

    Raises:
        ValueError: a block opened inside another, an ``end`` without a block, a block never
            closed, or ``SERVER_URL`` left in a kit without a server; the line is named.
    """
    keep_kind = "offline" if server is None else "server"
    kept, inside = [], None
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        marker = line.strip()
        if marker in _OPEN:
            if inside is not None:
                raise ValueError(f"student README line {number}: {marker} inside a "
                                 f"'{inside}' block; close it with {_END} first")
            inside = _OPEN[marker]
        elif marker == _END:
            if inside is None:
                raise ValueError(f"student README line {number}: {_END} closes no block")
            inside = None
        elif inside is None or inside == keep_kind:
            kept.append(line)
    if inside is not None:
        raise ValueError(f"student README: the '{inside}' block is never closed with {_END}")
    result = "".join(kept)
    if server is None and "SERVER_URL" in result:
        raise ValueError("student README: SERVER_URL outside a <!-- server --> block")
    return result.replace("SERVER_URL", server) if server else result


def student_readme(server: str | None = None) -> str:
    """The README of a kit built for ``server`` (its URL), or of an offline kit (None)."""
    return render(TEMPLATE.read_text(encoding="utf-8"), server=server)
