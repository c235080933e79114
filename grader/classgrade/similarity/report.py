"""The class report's section on similar code: flagged pairs per function, groups, links.

Per graded function, the flagged pairs ranked by similarity, each linked to its page
(:mod:`~grader.classgrade.similarity.evidence`). Students linked by flagged pairs form a
group; a group of three or more (several students with one solution) is shown as one, its
members named and its pairs inside. The whole-submission scores (``*``) follow, with no page.
The wording states similarity, never a verdict; every username is escaped.
"""

from __future__ import annotations

import html
from collections import defaultdict
from urllib.parse import quote

from grader.classgrade.similarity.compare import THRESHOLD, WHOLE, Pair
from grader.classgrade.similarity.evidence import page_path

INTRO = ("Pairs of students whose code for a graded function is similar (similarity {threshold:g} "
         "or more, 1 = all of the shorter code's structure is in the other's). Names, comments, "
         "layout and the course's code are ignored. Similar code is a reason to read both, not "
         "a finding: a link opens the two codes side by side with the similar lines "
         "highlighted.")


def groups(pairs) -> list[list[Pair]]:
    """The flagged pairs of one function in groups of students linked by them, the group
    with the highest similarity first, each group's pairs highest first."""
    parent: dict[str, str] = {}

    def root(who: str) -> str:
        parent.setdefault(who, who)
        while parent[who] != who:
            parent[who] = parent[parent[who]]
            who = parent[who]
        return who
    flagged = sorted((p for p in pairs if p.flagged),
                     key=lambda p: (-p.similarity, p.student_a, p.student_b))
    for pair in flagged:
        parent[root(pair.student_a)] = root(pair.student_b)
    found: dict[str, list[Pair]] = defaultdict(list)
    for pair in flagged:
        found[root(pair.student_a)].append(pair)
    return list(found.values())  # insertion order: by each group's best pair


def members(group: list[Pair]) -> list[str]:
    """The students of a group, sorted."""
    return sorted({who for pair in group for who in (pair.student_a, pair.student_b)})


def _rows(group: list[Pair], pages: str | None) -> str:
    rows = []
    for pair in group:
        a, b = html.escape(pair.student_a), html.escape(pair.student_b)
        if pair.function == WHOLE:
            view = '<span class="hint">each function above</span>'
        elif pages is None:
            view = ""
        else:
            href = html.escape(quote(f"{pages}/{page_path(pair)}"), quote=True)
            view = f'<a href="{href}">side by side</a>'
        rows.append(f"<tr><td>{a}</td><td>{b}</td><td class=\"num\">{pair.similarity:.2f}</td>"
                    f"<td>{view}</td></tr>")
    return ('<div class="scroll"><table class="similar"><thead><tr><th>student</th>'
            "<th>student</th><th>similarity</th><th>code</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div>")


def _function(name: str, pairs, pages: str | None) -> str:
    title = "All graded functions together" if name == WHOLE else html.escape(name)
    parts = [f'<h3 id="similar-{html.escape(name if name != WHOLE else "whole", quote=True)}">'
             f"{title}</h3>"]
    singles = []
    for group in groups(pairs):
        if len(members(group)) < 3:
            singles += group
            continue
        names = ", ".join(html.escape(who) for who in members(group))
        parts.append(f'<div class="cluster"><h4>{len(members(group))} students with similar '
                     f"code: {names}</h4>{_rows(group, pages)}</div>")
    if singles:
        parts.append(_rows(sorted(singles, key=lambda p: -p.similarity), pages))
    return "\n".join(parts)


def similarity_section(run, *, pages: str | None = "similarity") -> str:
    """The report's section "Similar code" for a comparison, or "" when none was made.

    Args:
        run: the :class:`~grader.classgrade.similarity.run.SimilarityRun`, or None.
        pages: the folder of the pair pages, relative to the report (None: no links).
    """
    if run is None:
        return ""
    threshold = getattr(run, "threshold", THRESHOLD)
    by_function: dict[str, list[Pair]] = defaultdict(list)
    for pair in run.pairs:
        if pair.flagged:
            by_function[pair.function].append(pair)
    parts = ['<h2 id="similar-code">Similar code</h2>',
             f'<p class="hint">{INTRO.format(threshold=threshold)}</p>']
    if not by_function:
        parts.append(f'<p id="no-similar">No similar pairs: no two students\' code for a '
                     f"graded function reached similarity {threshold:g}.</p>")
    for name in sorted(by_function, key=lambda n: (n == WHOLE, n)):
        parts.append(_function(name, by_function[name], pages))
    return '<section id="similarity">' + "\n".join(parts) + "</section>"
