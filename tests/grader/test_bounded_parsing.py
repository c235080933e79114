"""The grader's own work on a student's notebook is linear and bounded, and never crashes it.

Hostile notebooks of our own: thousands of magics, an expression nested 100000 deep,
oversized files and cells, JSON nested 100000 deep, cells that are not text. Each
fails only the cell it is in (a note, like a syntax error), or the notebook is refused
with its size and the limit, before anything expensive runs.
"""

import ast
import json
import types

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader import magics, syntax
from grader import notebooks as nb
from grader.classgrade.submission import extract_chunks
from grader.classgrade.submissions import Submission

DEEP_SOURCES = {  # under MAX_CELL_CHARS, so they are parsed
    "unary": "x = " + "-" * 20_000 + "1",        # ast.parse: MemoryError
    "sum": "x = a" + " + a" * 20_000,            # ast.parse: RecursionError
    "not": "y = " + "not " * 20_000 + "x",       # ast.parse: MemoryError
}
GOOD = "def conv_matrix(matrix, kernel):\n    ### YOUR CODE ###\n    return matrix\n"
CHECK = "am.test_student_function(username, conv_matrix, ['matrix', 'kernel'])"


@pytest.fixture
def parse_calls(monkeypatch):
    """Counts ``ast.parse`` calls; stops the test at once past 50 (the old loop made 8001).
    Parsed cells are remembered: the memory starts empty, so every parse is counted."""
    nb.parse_cell.cache_clear()
    calls = []
    real = ast.parse

    def counting(source, *args, **kwargs):
        calls.append(len(source))
        if len(calls) > 50:
            raise AssertionError(f"ast.parse called {len(calls)} times: not linear")
        return real(source, *args, **kwargs)

    class CountingAst(types.ModuleType):  # only the grader's parses are counted
        def __getattr__(self, name):
            return getattr(ast, name)

    counting_ast = CountingAst("ast")
    counting_ast.parse = counting
    monkeypatch.setattr(nb, "ast", counting_ast)
    monkeypatch.setattr(syntax, "ast", counting_ast)  # the grader's one thread-safe parse
    return calls


def write(tmp_path, notebook, name="assignment.ipynb"):
    path = tmp_path / name
    nbformat.write(notebook, str(path))
    return path


# ------------------------------------------------------------------ magics, linear
@pytest.mark.parametrize("n_lines", [8000, 16000])
def test_magic_stripping_does_not_parse_once_per_line(parse_calls, n_lines):
    source = "\n".join(["%time f()"] * n_lines)  # 8000 lines: 174 s of grader CPU before
    stripped = nb.python_source(source)
    assert stripped.split("\n") == ["pass  # %time f()"] * n_lines
    assert len(parse_calls) <= 1
    nb.syntax_errors(new_notebook(cells=[new_code_cell(source)]))
    assert len(parse_calls) <= 2  # one more, for the whole cell, whatever its length


def test_magics_between_valid_lines_in_one_parse_at_most(parse_calls):
    body = "\n".join(f"    %time y = f({i})\n    x = (a\n         % {i})" for i in range(3000))
    source = f"def g(a):\n{body}\n    return x\n"
    stripped = nb.python_source(source)
    assert stripped.count("pass  # %time") == 3000 and stripped.count("% ") == 3000
    assert len(parse_calls) <= 1
    ast.parse(stripped)


@pytest.mark.parametrize("source", [
    pytest.param('x = """\n%not a magic: inside a string\n"""', id="triple-quoted"),
    pytest.param("x = '''a\\\n%s''' % 1", id="triple-quoted-closing-on-a-percent-line"),
    pytest.param("x = 'a\\\n%s' % 1", id="backslash-newline-in-a-string"),
    pytest.param("x = 7 \\\n% 3", id="backslash-continuation"),
    pytest.param("x = f(1  # a comment with a ( and a quote '\n% 3)", id="comment-in-brackets"),
    pytest.param("x = [1\n  # )\n% 3]", id="bracket-in-a-comment"),
    pytest.param("x = {'a': '('\n% 1}", id="bracket-in-a-string"),
    pytest.param("x = (1\r\n% 3)", id="crlf"),
    pytest.param("# comment\rx = (1\n% 3)", id="lone-cr-ends-a-comment"),
    pytest.param('x = f"{(1)}" \\\n% 3', id="f-string"),
    pytest.param("x = 1 # \\\ny = 2", id="backslash-in-a-comment"),
])
def test_valid_python_is_never_touched(source):
    ast.parse(source)
    assert nb.python_source(source) == source


def one_magic_at_a_time(source):
    """The former python_source (quadratic): the independent oracle for the one-pass scan."""
    lines = source.split("\n")
    for _ in range(len(lines)):
        try:
            ast.parse("\n".join(lines))
            break
        except SyntaxError as error:
            index = (error.lineno or 0) - 1
            match = magics._MAGIC.match(lines[index]) if 0 <= index < len(lines) else None
            if match is None:
                break
            lines[index] = f"{match.group(1)}pass  # {lines[index].strip()}"
    return "\n".join(lines)


POOL = ["%time f()", "!ls -l", "x = !ls", "files=%sx ls", "x = (1", "% 2)", "y = '''", "%s'''",
        "if a:", "    %time g()", "    pass", "z = 1 \\", "% 3", "# ( '", "s = 'a(' \\",
        "def f(a, b):", "    return (a", "            % b)", '"""', "t = [", "]", "    !echo \"it's\""]


def test_the_one_pass_scan_agrees_with_the_one_magic_at_a_time_oracle():
    rng = np.random.default_rng(11)
    compared, changed = 0, 0
    for _ in range(3000):
        source = "\n".join(rng.choice(POOL, size=rng.integers(1, 7)))
        before = one_magic_at_a_time(source)
        try:
            ast.parse(before)
        except SyntaxError:
            continue  # the oracle stopped at a real error: nothing to agree on
        assert nb.python_source(source) == before, source
        compared, changed = compared + 1, changed + (before != source)
    assert compared > 300 and changed > 100


# ------------------------------------------------------------------ deep and huge cells
@pytest.mark.parametrize("name", DEEP_SOURCES)
def test_a_deeply_nested_cell_fails_only_that_cell(name):
    deep = DEEP_SOURCES[name]
    notebook = new_notebook(cells=[new_code_cell(GOOD), new_code_cell(deep),
                                   new_code_cell(f"### YOUR CODE ###\ndef f():\n    {deep}"),
                                   new_code_cell(CHECK)])
    assert nb.definitions_only(deep) == ""
    assert nb.defined_functions(deep) == []
    problems = nb.syntax_errors(notebook)
    assert [p.split(":")[0] for p in problems] == ["cell 1", "cell 2"]
    assert all("nested too deeply" in p for p in problems)
    assert nb.stub_cells(notebook) == {"conv_matrix": 0}
    assert nb.check_calls(notebook) == [(3, "conv_matrix", ["matrix", "kernel"])]


def test_a_deep_cell_in_a_submission_is_a_note_not_a_crash(tmp_path):
    path = write(tmp_path, new_notebook(cells=[new_code_cell(GOOD),
                                               new_code_cell("x = a" + " + a" * 100_000)]))
    chunks, notes = extract_chunks(Submission("alice", path))
    assert [c["origin"] for c in chunks] == ["notebook cell 0"]
    assert len(notes) == 1 and notes[0].startswith("cell 1: ")
    assert notes[0].endswith("the functions of that cell could not be graded")


def test_deep_arg_keys_of_a_check_call_are_not_a_literal():
    deep = "[" * 200 + "]" * 200
    source = f"am.test_student_function(u, conv_matrix, {deep})"
    assert nb.check_calls(new_notebook(cells=[new_code_cell(source)])) in (
        [(0, "conv_matrix", None)], [])  # 200 deep: too many nested parentheses, or not literal


def test_an_oversized_cell_is_not_parsed(parse_calls):
    huge = "x = 1\n" * (nb.MAX_CELL_CHARS // 6 + 1)
    notebook = new_notebook(cells=[new_code_cell(GOOD), new_code_cell(huge)])
    assert nb.definitions_only(huge) == "" and nb.defined_functions(huge) == []
    problems = nb.syntax_errors(notebook)
    assert problems == [f"cell 1: the cell has {len(huge):,} characters, more than the "
                        f"{nb.MAX_CELL_CHARS:,} a cell may have"]
    assert max(parse_calls) < nb.MAX_CELL_CHARS


# ------------------------------------------------------------------ refused before parsing
def test_an_oversized_notebook_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "huge.ipynb"
    with open(path, "wb") as handle:  # sparse: no disk used
        handle.truncate(nb.MAX_NOTEBOOK_BYTES + 1)
    monkeypatch.setattr(nbformat.reader, "reads", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(nb.NotebookError) as caught:
        nb.load_notebook(path)
    assert str(caught.value) == (f"{path}: 20,971,521 bytes, more than the 20,971,520 (20 MB) "
                                 "a notebook may have")


def test_a_notebook_at_the_limit_is_read(tmp_path):
    path = write(tmp_path, new_notebook(cells=[new_code_cell(GOOD)]))
    text = path.read_text(encoding="utf-8")
    path.write_text(text + " " * (nb.MAX_NOTEBOOK_BYTES - len(text.encode())), encoding="utf-8")
    assert nb.load_notebook(path).cells[0].source == GOOD


def test_too_many_cells_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(nb, "MAX_CELLS", 5)
    path = write(tmp_path, new_notebook(cells=[new_code_cell("x = 1") for _ in range(6)]))
    with pytest.raises(nb.NotebookError, match="6 cells, more than the 5 a notebook may have"):
        nb.load_notebook(path)


def test_too_much_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(nb, "MAX_CODE_CHARS", 100)
    path = write(tmp_path, new_notebook(cells=[new_code_cell("x = 1\n" * 10) for _ in range(2)]))
    with pytest.raises(nb.NotebookError, match="code cells hold 120 characters, more than the "
                                               "100 a notebook may have"):
        nb.load_notebook(path)


@pytest.mark.parametrize("wide, want", [
    pytest.param("{}," * 100_001, "100,000 lists and objects", id="objects"),
    pytest.param("1," * 2_000_001, "2,000,000 JSON tokens", id="numbers"),
    pytest.param('"ab",' * 1_000_001, "2,000,000 JSON tokens", id="strings"),
])
def test_json_too_costly_to_parse_is_refused_before_parsing(tmp_path, monkeypatch, wide, want):
    path = tmp_path / "wide.ipynb"  # 20 MB of {}, took 1.3 GB to parse
    path.write_text('{"metadata": {"a": [' + wide + '0]}, "cells": [], "nbformat": 4, '
                    '"nbformat_minor": 5}', encoding="utf-8")
    monkeypatch.setattr(nbformat.reader, "reads", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(nb.NotebookError, match=f"not a Jupyter notebook \\(more than .*{want}"):
        nb.load_notebook(path)


def test_brackets_and_commas_inside_strings_are_not_counted(tmp_path):
    source = 'x = "' + "{[," * 300_000 + '"'
    path = write(tmp_path, new_notebook(cells=[new_code_cell(source), new_code_cell(GOOD)]))
    assert nb.load_notebook(path).cells[0].source == source


@pytest.mark.parametrize("text, want", [
    pytest.param('{"cells": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply",
                 id="json-50000-deep"),
    pytest.param('{"metadata": {"a": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001
                 + ', "cells": [], "nbformat": 4, "nbformat_minor": 5}', "nested too deeply",
                 id="metadata-50000-deep"),
    pytest.param('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}", "100,000 lists and objects",
                 id="json-100000-deep"),
])
def test_deeply_nested_json_is_an_invalid_notebook(tmp_path, text, want):
    path = tmp_path / "deep.ipynb"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(nb.NotebookError, match=want):
        nb.load_notebook(path)


@pytest.mark.parametrize("cell, want", [
    ({"cell_type": "code", "source": 5, "metadata": {}, "outputs": []}, "cell 0: its source"),
    ({"cell_type": "code", "source": {"a": 1}, "metadata": {}, "outputs": []}, "cell 0: its source"),
    ({"cell_type": 7, "source": "x", "metadata": {}, "outputs": []}, ""),
    ({"cell_type": "code", "source": "x", "metadata": [], "outputs": []}, ""),
])
def test_a_cell_that_is_not_text_is_an_invalid_notebook(tmp_path, cell, want):
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}), encoding="utf-8")
    with pytest.raises(nb.NotebookError, match=f"not a Jupyter notebook \\({want}"):
        nb.load_notebook(path)
