"""Student text in Markdown, shown as text: never a heading, a link, HTML or a script.

Feedback files and Gradescope's output are Markdown; what a student controls
(an exception's message, printed text, a roster name) reaches them. It goes in
one of two ways:

    inline(text)        within one of our lines: on that line, every character that
                        could start Markdown or HTML escaped with a backslash, as
                        Markdown escapes (``<`` as ``\\<``, ``[`` as ``\\[``), so the file
                        reads as the student wrote it (``<module>``, never ``&lt;``);
                        an underscore inside a word (``conv_matrix``) starts nothing
                        and stays as it is
    code_block(lines)   a fenced code block whose fence is longer than any run of
                        backticks in the text, so the text cannot close it

Both show control characters as escapes (:func:`printable`), so a feedback file
printed on a terminal sends it no escape sequence either.
"""

from __future__ import annotations

import re

from grader.classgrade.console import printable

# What can start an inline construct mid-line: code, emphasis, link or image, strikethrough, table
# cell, a heading's closing #s, math, an attribute list, mark/insert/superscript extensions, HTML
# (a tag, a comment, an autolink), an entity and a quote; all ASCII punctuation, so CommonMark
# lets a backslash escape each. "_" is escaped below, except inside a word; a "#" right after
# "&" is left as it is ("\&#60;" is text; mistune reads "\&\#60;" as the entity "&#60;").
_MARKDOWN = re.compile(r"([\\`*\[\]~|$\{}=+^<>&]|(?<!&)#)")
# "_" with a letter or digit on both sides can neither open nor close emphasis (CommonMark's
# flanking rules): every other "_" is escaped.
_UNDERSCORES = re.compile(r"_+")
# A bare address GFM would link by itself: escape its ":" or "." (https\://x, www\.x).
_BARE_LINK = re.compile(r"(?i)(?:https?:|ftp:|www\.)")


def inline(text) -> str:
    """``text`` as plain words inside a Markdown line: one line, nothing it could start."""
    escaped = _MARKDOWN.sub(r"\\\1", printable(text))
    escaped = _UNDERSCORES.sub(_underscores, escaped)
    return _BARE_LINK.sub(lambda found: found.group()[:-1] + "\\" + found.group()[-1], escaped)


def _underscores(found: re.Match) -> str:
    text, start, end = found.string, found.start(), found.end()
    inside_a_word = (start > 0 and text[start - 1].isalnum() and end < len(text)
                     and text[end].isalnum())
    return found.group() if inside_a_word else "\\_" * (end - start)


def code_block(lines) -> list[str]:
    """``lines`` (strings, possibly multi-line) as one fenced code block, shown verbatim."""
    text_lines = [printable(line) for text in lines for line in str(text).splitlines() or [""]]
    longest = max((len(run) for line in text_lines for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *text_lines, fence]
