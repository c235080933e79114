"""A page per flagged pair: the two students' code for one function, side by side.

``OUT/similarity/<function>/<a>--<b>.html`` shows both codes with the lines their shared
fingerprints come from highlighted, and the score. The page states similarity, never a
verdict. It is self-contained and runs no script: its Content-Security-Policy allows its
own style (by hash) and nothing else, and every string from a student (usernames, code) is
escaped with :func:`html.escape`. File names never come from a username as it is: each is
a few safe characters of it and a hash of it (:func:`safe_name`).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path

from grader.classgrade.exports.files import write_atomically
from grader.classgrade.similarity.compare import WHOLE, Pair, Student
from grader.classgrade.similarity.fingerprint import K, kgram_hashes
from grader.classgrade.similarity.normalize import token_ids, tokens

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_FUNCTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_STYLE = """
html { -webkit-text-size-adjust: 100%; }
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 90em;
       overflow-wrap: anywhere; }
h1 { font-size: 1.5em; }
.note { border-left: 4px solid #2f6db5; background: #eef4fb; padding: 0.4em 0.8em; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.side { min-width: 0; }
.side h2 { font-size: 1em; margin: 0.6em 0 0.3em; }
pre.code { margin: 0; font-size: 0.85em; border: 1px solid #ccc; padding: 0.3em 0;
           white-space: pre-wrap; overflow-wrap: anywhere; }
.line { display: grid; grid-template-columns: 2.8em minmax(0, 1fr); padding: 0 0.4em 0 0.3em;
        border-left: 4px solid transparent; }
.line .no { color: #777; user-select: none; }
.line .src { min-width: 0; }
.line.hit { background: #fff1a8; border-left-color: #b58a00; }
.legend .swatch { background: #fff1a8; border-left: 4px solid #b58a00; padding: 0 0.4em; }
.missing { color: #555; font-style: italic; }
@media (max-width: 50em) { body { margin: 0.6em; } .sides { grid-template-columns: 1fr; } }
"""


@dataclass(frozen=True)
class Evidence:
    """One flagged pair, ready to show.

    Attributes:
        pair: the flagged pair (one function, not ``*``).
        code_a, code_b: each student's code for the function ("" when not kept: an archive
            keeps fingerprints only).
        lines_a, lines_b: the (1-based) lines of each code that a shared fingerprint came from.
        href: the page's path relative to ``OUT/similarity/`` (``function/a--b.html``).
    """

    pair: Pair
    code_a: str
    code_b: str
    lines_a: frozenset[int]
    lines_b: frozenset[int]
    href: str


def safe_name(text: str) -> str:
    """A file name for ``text`` (a username): up to 32 safe characters of it, then 10 hex
    digits of its SHA-256, so two usernames never share a file, whatever their case or
    characters."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    kept = _UNSAFE.sub("_", text).strip("_")[:32]
    return f"{kept}-{digest}" if kept else digest


def page_path(pair: Pair) -> str:
    """``function/a--b.html``, relative to ``OUT/similarity/``."""
    folder = pair.function if _FUNCTION.fullmatch(pair.function) else safe_name(pair.function)
    return f"{folder}/{safe_name(pair.student_a)}--{safe_name(pair.student_b)}.html"


def matching_lines(first: Student, second: Student, function: str) -> tuple[frozenset, frozenset]:
    """The lines of each student's code for ``function`` that hold a run of tokens whose
    fingerprint both share (their fingerprints as
    :func:`~grader.classgrade.similarity.compare.own_code` left them).

    The runs are found again in each code (every place a shared fingerprint occurs, not only
    its first), and a line counts when at least half of its tokens are in such a run: a
    line inserted between two matching runs stays plain though a run may end on its first
    token.
    """
    prints_a, prints_b = first.functions.get(function), second.functions.get(function)
    if prints_a is None or prints_b is None:
        return frozenset(), frozenset()
    shared = prints_a.hashes & prints_b.hashes
    return (_lines_of(first.code.get(function, ""), shared),
            _lines_of(second.code.get(function, ""), shared))


def _lines_of(code: str, shared: frozenset) -> frozenset:
    found = tokens(code) if code else []
    covered = [False] * len(found)
    for start, value in enumerate(kgram_hashes(token_ids(found), K)):
        if value in shared:
            covered[start:start + K] = [True] * len(covered[start:start + K])
    counts: dict[int, list[int]] = {}
    for (_, line), hit in zip(found, covered):
        if line:
            counts.setdefault(line, [0, 0])[hit] += 1
    return frozenset(line for line, (plain, hit) in counts.items() if hit >= plain)


def evidence_for(pairs, students) -> list[Evidence]:
    """An :class:`Evidence` per flagged pair of a function (``*`` has no page).

    Args:
        pairs: :class:`Pair` s, as :func:`~grader.classgrade.similarity.compare.score_pairs`
            gave them.
        students: the students compared, as ``own_code`` left them (with their code).
    """
    by_who = {student.who: student for student in students}
    found = []
    for pair in pairs:
        if not pair.flagged or pair.function == WHOLE:
            continue
        first = by_who.get(pair.student_a, Student(pair.student_a, "", {}))
        second = by_who.get(pair.student_b, Student(pair.student_b, "", {}))
        lines_a, lines_b = matching_lines(first, second, pair.function)
        found.append(Evidence(pair, first.code.get(pair.function, ""),
                              second.code.get(pair.function, ""), lines_a, lines_b,
                              page_path(pair)))
    return found


def _code(code: str, hits: frozenset, who: str) -> str:
    if not code:
        return ('<p class="missing">This code is not kept (an archive keeps fingerprints '
                "only): the score is all there is to show.</p>")
    rows = []
    for number, text in enumerate(code.split("\n"), start=1):
        marks = ' hit" title="similar' if number in hits else ""
        rows.append(f'<span class="line{marks}" data-line="{number}"><span class="no">'
                    f'{number}</span><span class="src">{html.escape(text) or " "}</span></span>')
    label = html.escape(f"{who}'s code", quote=True)
    return f'<pre class="code" aria-label="{label}">' + "".join(rows) + "</pre>"


def page(evidence: Evidence, *, threshold: float) -> str:
    """The self-contained HTML page of one flagged pair."""
    pair = evidence.pair
    a, b, function = (html.escape(text) for text in (pair.student_a, pair.student_b,
                                                      pair.function))
    style_hash = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
    policy = f"default-src 'none'; style-src 'sha256-{style_hash}'"
    title = f"Similar code in {function}: {a} and {b}"
    sides = "".join(
        f'<div class="side"><h2>{html.escape(who)}: '
        + (f"{len(hits)} of {code.count(chr(10)) + 1} lines highlighted" if code else
           "code not kept")
        + f"</h2>{_code(code, hits, who)}</div>"
        for who, code, hits in ((pair.student_a, evidence.code_a, evidence.lines_a),
                                (pair.student_b, evidence.code_b, evidence.lines_b)))
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{title}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
        '<p><a href="../../report.html">Class report</a></p>',
        f"<h1>{title}</h1>",
        f'<p id="score">Similarity <strong>{pair.similarity:.2f}</strong> (flagged from '
        f"{threshold:g}): {pair.shared} fingerprint(s) in common; 1 would mean all of the "
        "shorter code's structure is also in the other's.</p>",
        '<p class="note">This page shows similar code, not a finding. Names, comments and '
        "layout are ignored, and code the course gave or that many students of the class "
        "share is left out. Similar code can have innocent causes (working together where "
        "it is allowed, a common source, an approach the task suggests): a person reads "
        "both before drawing any conclusion.</p>",
        '<p class="legend"><span class="swatch">Highlighted</span> lines hold structure '
        "found in both codes.</p>",
        f'<div class="sides">{sides}</div>', "</body>", "</html>", ""])


def write_pages(folder, pairs, students, *, threshold: float) -> list[Evidence]:
    """Write a page per flagged pair under ``folder`` (``OUT/similarity``), each whole or not
    at all, and remove the pages of earlier runs that this run did not write.

    Returns:
        The :class:`Evidence` written, in the order of ``pairs``.
    """
    folder = Path(folder)
    found = evidence_for(pairs, students)
    written = set()
    for item in found:
        path = folder / item.href
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, page(item, threshold=threshold))
        written.add(path)
    for sub in folder.iterdir() if folder.is_dir() else ():
        if sub.is_dir() and not sub.is_symlink():
            for old in sub.glob("*.html"):
                if old not in written and old.is_file() and not old.is_symlink():
                    old.unlink()
    return found
