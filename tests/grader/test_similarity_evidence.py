"""The evidence of similar code: a page per flagged pair and the report's section.

The pages show both codes with the lines of their shared fingerprints highlighted, escape
everything a student wrote (username and code), take safe file names, run no script; the
section ranks the flagged pairs per function, groups three or more students linked by them,
and says so when there is none.
"""

import csv
import re
from html.parser import HTMLParser

import pytest
from similarity_cases import CONV, rename, write_class

from grader.classgrade.similarity.compare import WHOLE, Pair, Student, own_code, score_pairs
from grader.classgrade.similarity.evidence import (
    evidence_for,
    page,
    page_path,
    safe_name,
    write_pages,
)
from grader.classgrade.similarity.fingerprint import fingerprint
from grader.classgrade.similarity.normalize import tokens
from grader.classgrade.similarity.report import groups, members, similarity_section
from grader.classgrade.similarity.run import SimilarityRun
from grader.cli import main

HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "../../../etc/passwd",
           "2023/ann", "Ann", "ann", "a\u202eb", "' onmouseover='alert(1)", ""]
DEAD = "    unused = [0] * 3\n    for _ in unused:\n        unused.append(len(unused))\n"


def student(who, code, function="conv_matrix"):
    return Student(who, "", {function: fingerprint(tokens(code))}, {function: code})


def flagged_pair(a="ann", b="bob", function="conv_matrix", similarity=0.9):
    return Pair(function, a, b, similarity, True, 12)


def run_of(pairs, students=()):
    return SimilarityRun(tuple(pairs), tuple(students), 0, (), 0.0, 0.75, tuple(students))


class Tags(HTMLParser):
    """Every start tag and attribute of a page, as the browser would parse them."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.attributes = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]


@pytest.fixture
def copied():
    """ann's four loops; bob renamed them and inserted dead code (lines 5-7 of his)."""
    original = CONV["four_loops"].strip("\n")
    lines = rename(original).split("\n")
    disguised = "\n".join(lines[:4] + DEAD.rstrip("\n").split("\n") + lines[4:])
    students = own_code([student("ann", original), student("bob", disguised)])
    pairs = score_pairs(students)
    return students, pairs, original, disguised


def test_the_copied_lines_are_highlighted_and_the_inserted_ones_not(copied):
    students, pairs, original, disguised = copied
    [item] = evidence_for(pairs, students)
    assert (item.pair.student_a, item.pair.student_b) == ("ann", "bob")
    assert item.code_a == original and item.code_b == disguised
    assert set(range(5, 8)).isdisjoint(item.lines_b)  # bob's dead code
    n_a, n_b = original.count("\n") + 1, disguised.count("\n") + 1
    assert len(item.lines_a) >= n_a - 4 and item.lines_a <= set(range(1, n_a + 1))
    assert len(item.lines_b) >= n_b - 7 and item.lines_b <= set(range(1, n_b + 1))
    shown = page(item, threshold=0.75)
    hits = {int(n) for n in re.findall(r'<span class="line hit" title="similar" data-line="(\d+)"',
                                       shown)}
    assert hits == set(item.lines_a) | set(item.lines_b)  # both columns, their own numbers
    assert shown.count('class="line hit"') == len(item.lines_a) + len(item.lines_b)


@pytest.mark.parametrize("who", HOSTILE)
def test_a_hostile_username_and_code_are_shown_as_text(who):
    code = '</pre><script>alert("x")</script>\n<!-- -->]]><img src=x onerror=alert(1)>'
    item = evidence_for([flagged_pair(who, "bob")],
                        [Student(who, "", {}, {"conv_matrix": code}),
                         Student("bob", "", {}, {"conv_matrix": code})])[0]
    shown = page(item, threshold=0.75)
    parsed = Tags(shown)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not [name for name in parsed.attributes if name.startswith("on")]
    assert "&lt;/pre&gt;&lt;script&gt;" in shown


@pytest.mark.parametrize("who", HOSTILE)
def test_a_username_never_names_a_file_as_it_is(who):
    name = safe_name(who)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,43}", name)
    assert re.fullmatch(r"conv_matrix/[A-Za-z0-9_-]+--[A-Za-z0-9_-]+\.html",
                        page_path(flagged_pair(who, "bob")))
    others = [safe_name(other) for other in HOSTILE if other != who]
    assert name not in others  # "Ann" and "ann" too: a case-blind disk keeps both


def test_the_page_runs_no_script_and_says_similarity_not_guilt(copied):
    students, pairs, *_ = copied
    shown = page(evidence_for(pairs, students)[0], threshold=0.75)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', shown)[1]
    assert policy.startswith("default-src 'none'; style-src 'sha256-")
    assert "script" not in policy and "unsafe" not in policy
    assert "<script" not in shown
    text = shown.lower()
    assert "similar" in text and "not a finding" in text
    assert not re.search(r"\b(cheat|plagiar|copied|guilty|misconduct)", text)


def test_an_archived_student_without_code_still_gets_a_page():
    item = evidence_for([flagged_pair("ann", "2023/zoe")],
                        [Student("ann", "", {}, {"conv_matrix": "x = 1"})])[0]
    shown = page(item, threshold=0.75)
    assert "keeps fingerprints only" in shown and "2023/zoe" in shown
    assert item.href.startswith("conv_matrix/ann-")


def test_the_pages_are_written_per_flagged_pair_and_old_ones_removed(tmp_path, copied):
    students, pairs, *_ = copied
    stale = tmp_path / "conv_matrix" / "old--pair.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("from an earlier run")
    unflagged = Pair("conv_matrix", "ann", "cat", 0.3, False, 2)
    whole = Pair(WHOLE, "ann", "bob", 0.9, True, 12)
    found = write_pages(tmp_path, [*pairs, unflagged, whole], students, threshold=0.75)
    assert [item.pair for item in found] == [p for p in pairs if p.function != WHOLE]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.html")) == [
        page_path(pairs[0])]


@pytest.mark.parametrize("edges, want", [
    ([("a", "b", 0.9)], [["a", "b"]]),
    ([("a", "b", 0.8), ("b", "c", 0.95)], [["a", "b", "c"]]),
    ([("a", "b", 0.8), ("c", "d", 0.95)], [["c", "d"], ["a", "b"]]),
    ([("a", "b", 0.8), ("c", "d", 0.95), ("d", "a", 0.9)], [["a", "b", "c", "d"]]),
])
def test_students_linked_by_flagged_pairs_form_one_group(edges, want):
    pairs = [flagged_pair(a, b, similarity=s) for a, b, s in edges]
    pairs.append(Pair("conv_matrix", "a", "z", 0.5, False, 3))  # not flagged: links nobody
    found = groups(pairs)
    assert [members(group) for group in found] == want
    assert all([p.similarity for p in g] == sorted((p.similarity for p in g), reverse=True)
               for g in found)


def test_the_section_ranks_pairs_per_function_and_shows_a_cluster_as_one():
    pairs = [flagged_pair("a", "b", similarity=0.8), flagged_pair("b", "c", similarity=0.95),
             flagged_pair("d", "e", similarity=0.85), flagged_pair("f", "g", similarity=0.99),
             flagged_pair("a", "b", "box_blur", 0.77), Pair(WHOLE, "a", "b", 0.9, True, 30),
             Pair("conv_matrix", "a", "e", 0.4, False, 3)]
    section = similarity_section(run_of(pairs))
    conv = section[section.index('id="similar-conv_matrix"'):section.index('id="similar-whole"')]
    assert section.index('id="similar-box_blur"') < section.index('id="similar-conv_matrix"')
    assert "3 students with similar code: a, b, c" in conv
    cluster, rest = conv.split("</div>", 1)[0], conv.split("</div>", 1)[1]
    assert cluster.index("0.95") < cluster.index("0.80")
    assert rest.index(">f<") < rest.index(">d<")  # 0.99 then 0.85
    assert ">e<" not in cluster and "0.40" not in section  # not flagged: not listed
    links = re.findall(r'href="([^"]+)"', section)
    assert len(links) == 5 and f'similarity/{page_path(pairs[0])}' in links
    assert section.count(">side by side</a>") == 5  # the whole-submission row has no page


def test_the_section_says_when_no_pair_is_similar():
    section = similarity_section(run_of([Pair("conv_matrix", "a", "b", 0.4, False, 3)]))
    assert "No similar pairs" in section and "<table" not in section
    assert similarity_section(None) == ""


@pytest.mark.parametrize("who", HOSTILE[:4] + HOSTILE[-2:])
def test_the_section_escapes_usernames(who):
    section = similarity_section(run_of([flagged_pair(who, "bob"), flagged_pair("bob", "cy")]))
    parsed = Tags(section)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not [name for name in parsed.attributes if name.startswith("on")]
    assert all(re.fullmatch(r"similarity/conv_matrix/[A-Za-z0-9_-]+--[A-Za-z0-9_-]+\.html", h)
               for h in re.findall(r'href="([^"]+)"', section))


def test_the_command_writes_a_page_per_flagged_pair(tmp_path, capsys):
    write_class(tmp_path / "subs", {"ann": {"conv_matrix": ("ann", CONV["four_loops"])},
                                    "bob": {"conv_matrix": ("ann", rename(CONV["four_loops"]))},
                                    "cat": {"conv_matrix": ("cat", CONV["im2col"])}})
    assert main(["similarity", str(tmp_path / "subs"), "--out", str(tmp_path / "out")]) == 0
    with open(tmp_path / "out" / "similarity" / "pairs.csv", newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["flagged"] == "1"
                and row["function"] != WHOLE]
    pages = sorted((tmp_path / "out" / "similarity").rglob("*.html"))
    assert [p.relative_to(tmp_path / "out" / "similarity").as_posix() for p in pages] == sorted(
        page_path(Pair(r["function"], r["student_a"], r["student_b"], 1.0, True, 0))
        for r in rows)
    assert len(rows) == 1 and "a page per flagged pair" in capsys.readouterr().out
    assert 'class="line hit"' in pages[0].read_text()


def test_against_an_archive_file_this_classs_side_is_still_highlighted(copied):
    students, pairs, original, _ = copied
    ann, bob = students
    archived = Student("2023/bob", "2023", bob.functions, {})  # an archive keeps no code
    [item] = evidence_for([flagged_pair("ann", "2023/bob")], [ann, archived])
    assert item.code_b == "" and item.lines_b == frozenset()
    assert item.lines_a == evidence_for(pairs, students)[0].lines_a != frozenset()
    assert "keeps fingerprints only" in page(item, threshold=0.75)
