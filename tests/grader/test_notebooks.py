"""grader.notebook: stubs, check cells and definitions of a notebook."""

import ast
import inspect
import textwrap

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import solutions
from grader import notebooks as nb

CONV_STUB = '''\
def conv_matrix(matrix, kernel):
    """Same-size cross-correlation."""
    ### YOUR CODE ###
    raise NotImplementedError
    ### YOUR CODE ###
'''
BLUR_AND_POOL_STUBS = '''\
import numpy as np

def box_blur(image, box_size):
    ### YOUR CODE ###
    raise NotImplementedError
    ### YOUR CODE ###

def maxpool_forward(x_input):
    ### YOUR CODE ###
    raise NotImplementedError
    ### YOUR CODE ###
'''
TRAINING = '''\
%matplotlib inline
for epoch in range(3):
    print("SHOULD NOT RUN")
plt.plot([1, 2])
'''


def cells(*sources):
    """A notebook whose cells are code, except sources starting with '#md '."""
    return new_notebook(cells=[new_markdown_cell(s[4:]) if s.startswith("#md ") else
                               new_code_cell(textwrap.dedent(s)) for s in sources])


@pytest.fixture
def stub_notebook():
    """The assignment's shape: imports, markdown, stubs, check cells, a training loop."""
    return cells(
        "import numpy as np\nimport automark as am\nusername = 'alice'",
        "#md # Convolution",
        CONV_STUB,
        'am.test_student_function(username, conv_matrix, ["matrix", "kernel"])',
        BLUR_AND_POOL_STUBS,
        "am.test_student_function(username, box_blur, ['image', 'box_size'])\n"
        "am.test_student_function(username, maxpool_forward, keys)",
        "def helper(x):\n    return x\n",
        TRAINING,
        "am.get_progress(username)",
    )


# ------------------------------------------------------------------ python_source
@pytest.mark.parametrize("source, want", [
    ("%matplotlib inline", "pass  # %matplotlib inline"),
    ("!pip install x", "pass  # !pip install x"),
    ("x = !ls", "pass  # x = !ls"),
    ("files=%sx ls", "pass  # files=%sx ls"),
    ("%%time\nx = 1", "pass  # %%time\nx = 1"),
    ("?np.sum", "pass  # ?np.sum"),
    ("if True:\n    %time f()\n    !ls", "if True:\n    pass  # %time f()\n    pass  # !ls"),
    ("import numpy as np\nx = 7 % 3", "import numpy as np\nx = 7 % 3"),
    ("if a != b:\n    c = a", "if a != b:\n    c = a"),
    ("s = 'a%sb' % 1", "s = 'a%sb' % 1"),
])
def test_python_source_comments_out_magics(source, want):
    assert nb.python_source(source) == want
    ast.parse(nb.python_source(source))


@pytest.mark.parametrize("source", [
    pytest.param("def f(a, b):\n    return (a\n            % b)\n", id="modulo-continuation"),
    pytest.param('def f():\n    return "a\u2028b"\n', id="line-separator-in-a-string"),
    pytest.param("def f():\n    return 1  # pasted\u2029from a web page\n",
                 id="separator-in-a-comment"),
    pytest.param("def f(a, b):\n    return (a\n            * b)\n", id="multiplication"),
])
def test_definitions_survive_valid_python(source):
    kept = nb.definitions_only(source)
    namespace = {}
    exec(compile(kept, "<cell>", "exec"), namespace)
    assert "f" in namespace


# ------------------------------------------------------------------ definitions_only
def test_definitions_only_keeps_imports_functions_and_classes():
    source = textwrap.dedent('''\
        %matplotlib inline
        import numpy as np
        from math import sqrt as root
        LIMIT = 3
        print("SHOULD NOT RUN")

        def square(x):
            return x * x

        @staticmethod
        def decorated(x):
            return x

        class Layer:
            def forward(self, x_input):
                return square(x_input)

        async def later():
            return 1

        for epoch in range(10):
            print("SHOULD NOT RUN")
        model = Layer()
        plt.plot([1, 2, 3])
        if __name__ == "__main__":
            print("SHOULD NOT RUN")
        ''')
    kept = nb.definitions_only(source)
    for text in ("import numpy as np", "from math import sqrt as root", "def square(x):",
                 "@staticmethod\ndef decorated(x):", "class Layer:", "async def later():"):
        assert text in kept
    for text in ("SHOULD NOT RUN", "LIMIT", "for epoch", "model =", "plt.plot", "%matplotlib"):
        assert text not in kept
    namespace = {}
    exec(compile(kept, "<cell>", "exec"), namespace)
    assert namespace["Layer"]().forward(3) == 9 and namespace["root"](16) == 4


@pytest.mark.parametrize("source", ["def f(:\n    pass", "for x in:\n    pass", "%%bash\nls -la"])
def test_definitions_only_of_a_cell_that_does_not_parse_is_empty(source):
    assert nb.definitions_only(source) == ""


def test_syntax_errors_name_the_cell_and_line():
    notebook = cells("x = 1", "#md text", "y = (\n  2 +\n", "%time z = 3")
    problems = nb.syntax_errors(notebook)
    assert len(problems) == 1 and problems[0].startswith("cell 2: SyntaxError: ")


def test_defined_functions_are_top_level_only():
    source = ("def a():\n    def inner():\n        pass\n"
              "class B:\n    def m(self):\n        pass\n"
              "def c():\n    pass\n")
    assert nb.defined_functions(source) == ["a", "c"]
    assert nb.defined_functions("def broken(:") == []


# ------------------------------------------------------------------ stubs and checks
def test_code_cells_skip_markdown(stub_notebook):
    indices = [index for index, _ in nb.code_cells(stub_notebook)]
    assert 1 not in indices and indices[0] == 0 and len(indices) == 8


def test_stub_cells_find_fenced_functions(stub_notebook):
    assert nb.stub_cells(stub_notebook) == {"conv_matrix": 2, "box_blur": 4,
                                            "maxpool_forward": 4}


def test_check_calls_find_the_calls_and_their_arg_keys(stub_notebook):
    assert nb.check_calls(stub_notebook) == [
        (3, "conv_matrix", ["matrix", "kernel"]),
        (5, "box_blur", ["image", "box_size"]),
        (5, "maxpool_forward", None),  # arg_keys that are not a literal
    ]


@pytest.mark.parametrize("source, want", [
    ("automark.test_student_function(u, relu_forward, ('x_input',))",
     [(0, "relu_forward", ("x_input",))]),
    ("for f in []:\n    am.test_student_function(u, dense_forward, ['x_input', 'W', 'b'])",
     [(0, "dense_forward", ["x_input", "W", "b"])]),
    ("%time am.test_student_function(u, relu_forward, ['x_input'])", []),
    ("am.test_student_function(u, relu_forward)", []),
    ("am.test_student_function(u, lambda x: x, ['x_input'])", []),
    ("am.get_progress(u)", []),
])
def test_check_calls(source, want):
    assert nb.check_calls(cells(source)) == want


# ------------------------------------------------------------------ replacing stubs
def test_replace_function_swaps_only_that_definition():
    source = "import numpy as np\n\n" + CONV_STUB + "\nprint('after')"
    new = "def conv_matrix(matrix, kernel):\n    return matrix\n"
    replaced = nb.replace_function(source, "conv_matrix", new)
    assert replaced == "import numpy as np\n\ndef conv_matrix(matrix, kernel):\n    " \
                       "return matrix\n\nprint('after')"


def test_replace_function_replaces_decorators_too():
    source = "@decorator\ndef f():\n    raise NotImplementedError\nx = 1"
    assert nb.replace_function(source, "f", "def f():\n    return 2") == \
        "def f():\n    return 2\nx = 1"


@pytest.mark.parametrize("source", ["x = 1", "def other():\n    pass", "class conv_matrix:\n  pass",
                                    "def broken(:"])
def test_replace_function_refuses_a_cell_without_it(source):
    with pytest.raises(nb.NotebookError, match="no top-level function 'conv_matrix'"):
        nb.replace_function(source, "conv_matrix", "def conv_matrix():\n    pass")


def test_solve_replaces_stubs_with_references(stub_notebook):
    before = nbformat.writes(stub_notebook)
    solved = nb.solve(stub_notebook, {"conv_matrix": solutions.conv_matrix,
                                      "box_blur": solutions.box_blur})
    assert nbformat.writes(stub_notebook) == before  # the input is untouched
    assert inspect.getsource(solutions.conv_matrix).rstrip() in solved.cells[2].source
    assert inspect.getsource(solutions.box_blur).rstrip() in solved.cells[4].source
    assert "NotImplementedError" not in solved.cells[2].source
    assert "def maxpool_forward" in solved.cells[4].source  # no reference given: left alone
    assert solved.cells[4].source.count("raise NotImplementedError") == 1
    assert [c.source for i, c in enumerate(solved.cells) if i not in (2, 4)] == \
        [c.source for i, c in enumerate(stub_notebook.cells) if i not in (2, 4)]
    namespace = {}
    for index in (0, 2, 4):
        exec(compile(nb.definitions_only(solved.cells[index].source), "<cell>", "exec"),
             namespace)
    np.testing.assert_array_equal(namespace["box_blur"](np.ones((3, 3)), 1), np.ones((3, 3)))


# ------------------------------------------------------------------ loading
def test_load_notebook_reads_nbformat_4(tmp_path, stub_notebook):
    path = tmp_path / "a.ipynb"
    nbformat.write(stub_notebook, str(path))
    loaded = nb.load_notebook(path)
    assert [c.source for c in loaded.cells] == [c.source for c in stub_notebook.cells]


@pytest.mark.parametrize("content, want", [
    (None, "no such notebook"),
    (b"not json at all", "not valid notebook JSON"),
    (b"", "not valid notebook JSON"),
    (b'{"cells": [', "not valid notebook JSON"),
    (b"\xff\xfe\x00binary", "not UTF-8 text"),
    (b'{"a": 1}', "not a Jupyter notebook"),
    (b"[]", "not a Jupyter notebook"),
    (b"42", "not a Jupyter notebook"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "not a Jupyter notebook"),
    (b'{"cells": "x", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
     "not a Jupyter notebook"),
])
def test_load_notebook_errors(tmp_path, content, want):
    path = tmp_path / "broken.ipynb"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(nb.NotebookError) as caught:
        nb.load_notebook(path)
    assert str(caught.value).startswith(f"{path}: {want}")
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("failures, parsed", [(0, True), (1, True), (4, True), (5, False)])
def test_a_conversion_another_thread_got_in_the_way_of_is_tried_again(monkeypatch, failures,
                                                                        parsed):
    """CPython 3.11: another thread's syntax-tree conversion (its traceback module draws ^^^ by
    parsing source) can make ours fail with a SystemError that says nothing of the code."""
    import ast

    from grader import syntax
    real, calls = ast.parse, []

    def flaky(source, *args, **kwargs):
        calls.append(source)
        if len(calls) <= failures:
            raise SystemError("AST constructor recursion depth mismatch (before=198, after=214)")
        return real(source, *args, **kwargs)
    monkeypatch.setattr(ast, "parse", flaky)
    if parsed:
        assert isinstance(syntax.parse_python("x = 1"), ast.Module)
    else:
        with pytest.raises(SystemError, match="recursion depth mismatch"):
            syntax.parse_python("x = 1")
    assert len(calls) == min(failures + 1, syntax.AST_TRIES)
