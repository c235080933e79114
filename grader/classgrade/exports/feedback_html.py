"""``feedback/<user>.html``: the Markdown feedback as a page a student or an instructor reads.

The Markdown (:func:`~.feedback.feedback_text`) is the one text; this page is that text
rendered by a CommonMark renderer (mistune, with any raw HTML escaped), so the two never
say different things. What a student wrote is already shown as text in the Markdown
(:mod:`.markdown`); the page's Content-Security-Policy allows no script, no request and
no image besides, so nothing in it can run or fetch. Long lines wrap: the page reads on
a phone without sideways scrolling.
"""

from __future__ import annotations

import html
from pathlib import Path

import mistune

from grader.classgrade.exports.files import write_atomically

POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_STYLE = """
html { -webkit-text-size-adjust: 100%; }
body { font-family: sans-serif; line-height: 1.45; color: #222; margin: 0 auto; padding: 1em;
       max-width: 48em; overflow-wrap: anywhere; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: 0.6em; white-space: pre-wrap;
      overflow-wrap: anywhere; font-size: 0.9em; }
code { font-size: 0.95em; }
"""
_RENDER = mistune.create_markdown(escape=True)


def feedback_page(markdown: str, *, title: str) -> str:
    """The HTML page of one feedback text.

    Args:
        markdown: the feedback, as written to ``<user>.md``.
        title: the page's title (escaped here).

    Returns:
        The page: self-contained, no script.
    """
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        f"<title>{html.escape(title)}</title>", f"<style>{_STYLE}</style>", "</head>",
        "<body>", "<main>", _RENDER(markdown), "</main>", "</body>", "</html>", ""])


def write_feedback_page(path, markdown: str, *, title: str) -> Path:
    """Write :func:`feedback_page` to ``path`` (replaced whole)."""
    return write_atomically(path, feedback_page(markdown, title=title))
