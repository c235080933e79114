"""A labelled class for the similarity tests: honest students, copiers in disguise, boilerplate.

Every honest solution below was written on its own, in the styles students of this
assignment use; five of them are the obvious double loop of ``conv_matrix``, written by five
students with the small differences that come with writing it alone. A copier takes one
student's function and disguises it in one way (:data:`COPIES`). :func:`write_class` writes
them all as notebooks: the assignment with the stubs filled in.
"""

from __future__ import annotations

import ast
import re
import textwrap

import nbformat

from grader import notebooks as nb
from grader.client import paths
from grader.core.tasks import task_names

# ------------------------------------------------------------------- conv_matrix
CONV = {
    "shifted_windows": '''
def conv_matrix(matrix, kernel):
    kh, kw = kernel.shape
    ph, pw = kh // 2, kw // 2
    padded = np.pad(matrix, ((ph, ph), (pw, pw)))
    result = np.zeros_like(matrix, dtype=float)
    for a in range(kh):
        for b in range(kw):
            result += kernel[a, b] * padded[a:a + matrix.shape[0], b:b + matrix.shape[1]]
    return result
''',
    "manual_padding": '''
def conv_matrix(matrix, kernel):
    n_rows, n_cols = matrix.shape
    k_rows, k_cols = kernel.shape
    pad_r = (k_rows - 1) // 2
    pad_c = (k_cols - 1) // 2
    big = np.zeros((n_rows + 2 * pad_r, n_cols + 2 * pad_c))
    big[pad_r:pad_r + n_rows, pad_c:pad_c + n_cols] = matrix
    output = np.zeros(matrix.shape)
    for r in range(n_rows):
        for c in range(n_cols):
            window = big[r:r + k_rows, c:c + k_cols]
            output[r, c] = (window * kernel).sum()
    return output
''',
    "four_loops": '''
def conv_matrix(matrix, kernel):
    H, W = matrix.shape
    KH, KW = kernel.shape
    cy, cx = KH // 2, KW // 2
    out = np.zeros((H, W))
    for y in range(H):
        for x in range(W):
            total = 0.0
            for dy in range(KH):
                for dx in range(KW):
                    yy, xx = y + dy - cy, x + dx - cx
                    if 0 <= yy < H and 0 <= xx < W:
                        total += kernel[dy, dx] * matrix[yy, xx]
            out[y, x] = total
    return out
''',
    "sliding_view": '''
def conv_matrix(matrix, kernel):
    p, q = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(matrix.astype(float), [(p, p), (q, q)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel.shape)
    return np.einsum("ijkl,kl->ij", windows, kernel)
''',
    "helper_and_rows": '''
def zero_pad(a, top, left):
    rows, cols = a.shape
    res = np.zeros((rows + 2 * top, cols + 2 * left))
    res[top:top + rows, left:left + cols] = a
    return res


def conv_matrix(matrix, kernel):
    kr, kc = kernel.shape
    padded = zero_pad(matrix, kr // 2, kc // 2)
    rows = []
    for i in range(matrix.shape[0]):
        rows.append([np.sum(padded[i:i + kr, j:j + kc] * kernel) for j in range(matrix.shape[1])])
    return np.array(rows)
''',
    "im2col": '''
def conv_matrix(matrix, kernel):
    kh, kw = kernel.shape
    h, w = matrix.shape
    padded = np.pad(matrix, ((kh // 2,) * 2, (kw // 2,) * 2))
    columns = np.empty((h * w, kh * kw))
    idx = 0
    for i in range(h):
        for j in range(w):
            columns[idx] = padded[i:i + kh, j:j + kw].ravel()
            idx += 1
    return (columns @ kernel.ravel()).reshape(h, w)
''',
    # the obvious double loop, five students on their own
    "loop_a": '''
def conv_matrix(matrix, kernel):
    h, w = matrix.shape
    kh, kw = kernel.shape
    padded = np.pad(matrix, ((kh // 2, kh // 2), (kw // 2, kw // 2)), mode="constant")
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            out[i, j] = np.sum(padded[i:i + kh, j:j + kw] * kernel)
    return out
''',
    "loop_b": '''
def conv_matrix(matrix, kernel):
    pad_h = kernel.shape[0] // 2
    pad_w = kernel.shape[1] // 2
    padded = np.pad(matrix, ((pad_h, pad_h), (pad_w, pad_w)))
    result = np.zeros(matrix.shape)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            patch = padded[i:i + kernel.shape[0], j:j + kernel.shape[1]]
            result[i, j] = np.sum(patch * kernel)
    return result
''',
    "loop_c": '''
def conv_matrix(matrix, kernel):
    m, n = matrix.shape
    k1, k2 = kernel.shape
    p1, p2 = k1 // 2, k2 // 2
    mat = np.pad(matrix, ((p1, p1), (p2, p2)), 'constant', constant_values=0)
    res = np.zeros((m, n))
    for i in range(m):
        for j in range(n):
            res[i][j] = np.sum(np.multiply(mat[i:i + k1, j:j + k2], kernel))
    return res
''',
    "loop_d": '''
def conv_matrix(matrix, kernel):
    height, width = matrix.shape
    kernel_h, kernel_w = kernel.shape
    padded = np.zeros((height + kernel_h - 1, width + kernel_w - 1))
    padded[kernel_h // 2:kernel_h // 2 + height, kernel_w // 2:kernel_w // 2 + width] = matrix
    output = np.zeros((height, width))
    for row in range(height):
        for col in range(width):
            output[row, col] = np.sum(kernel * padded[row:row + kernel_h, col:col + kernel_w])
    return output
''',
    "loop_e": '''
def conv_matrix(matrix, kernel):
    kh, kw = kernel.shape
    padded = np.pad(matrix, ((kh // 2, kh // 2), (kw // 2, kw // 2)))
    out = np.zeros_like(matrix, dtype=float)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (padded[i:i + kh, j:j + kw] * kernel).sum()
    return out
''',
}

# --------------------------------------------------------------------- box_blur
BLUR = {
    "ones_over_area": '''
def box_blur(image, box_size):
    return conv_matrix(image, np.ones((box_size, box_size)) / box_size ** 2)
''',
    "full": '''
def box_blur(image, box_size):
    kernel = np.full((box_size, box_size), 1 / (box_size * box_size))
    return conv_matrix(image, kernel)
''',
    "loops_mean": '''
def box_blur(image, box_size):
    r = box_size // 2
    padded = np.pad(image, r)
    h, w = image.shape
    blurred = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            blurred[i, j] = padded[i:i + box_size, j:j + box_size].mean()
    return blurred
''',
    "integral_image": '''
def box_blur(image, box_size):
    half = box_size // 2
    padded = np.pad(image.astype(float), half + 1)[1:, 1:]
    integral = padded.cumsum(axis=0).cumsum(axis=1)
    s = box_size
    total = integral[s:, s:] - integral[:-s, s:] - integral[s:, :-s] + integral[:-s, :-s]
    return total[:image.shape[0], :image.shape[1]] / s ** 2
''',
    "normalised_ones": '''
def box_blur(image, box_size):
    kernel = np.ones((box_size, box_size))
    kernel /= kernel.size
    blurred = conv_matrix(image, kernel)
    return blurred
''',
}

# --------------------------------------------------------------- maxpool_forward
POOL = {
    "reshape_max": '''
def maxpool_forward(x_input):
    h, w = x_input.shape
    return x_input.reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))
''',
    "loops": '''
def maxpool_forward(x_input):
    h, w = x_input.shape
    out = np.zeros((h // 2, w // 2))
    for i in range(h // 2):
        for j in range(w // 2):
            out[i, j] = np.max(x_input[2 * i:2 * i + 2, 2 * j:2 * j + 2])
    return out
''',
    "strided_maxima": '''
def maxpool_forward(x_input):
    a = np.maximum(x_input[0::2, 0::2], x_input[0::2, 1::2])
    b = np.maximum(x_input[1::2, 0::2], x_input[1::2, 1::2])
    return np.maximum(a, b)
''',
    "list_of_rows": '''
def maxpool_forward(x_input):
    result = []
    for r in range(0, x_input.shape[0], 2):
        row = []
        for c in range(0, x_input.shape[1], 2):
            window = x_input[r:r + 2, c:c + 2]
            row.append(window.max())
        result.append(row)
    return np.array(result)
''',
    "stacked_corners": '''
def maxpool_forward(x_input):
    corners = np.stack([x_input[::2, ::2], x_input[1::2, ::2], x_input[::2, 1::2],
                        x_input[1::2, 1::2]])
    return corners.max(axis=0)
''',
    "compare_four": '''
def maxpool_forward(x_input):
    rows, cols = x_input.shape[0] // 2, x_input.shape[1] // 2
    pooled = np.empty((rows, cols))
    for i in range(rows):
        for j in range(cols):
            best = x_input[2 * i, 2 * j]
            for di in (0, 1):
                for dj in (0, 1):
                    if x_input[2 * i + di, 2 * j + dj] > best:
                        best = x_input[2 * i + di, 2 * j + dj]
            pooled[i, j] = best
    return pooled
''',
}

# ----------------------------------------------------------------------- flatten
FLATTEN = {
    "reshape": '''
def flatten_forward(x_input):
    return x_input.reshape(x_input.shape[0], -1)


def flatten_grad_input(x_input, grad_output):
    return grad_output.reshape(x_input.shape)
''',
    "np_reshape": '''
def flatten_forward(x_input):
    return np.reshape(x_input, (len(x_input), -1))


def flatten_grad_input(x_input, grad_output):
    return np.reshape(grad_output, x_input.shape)
''',
    "product": '''
def flatten_forward(x_input):
    n = x_input.shape[0]
    return x_input.reshape(n, int(np.prod(x_input.shape[1:])))


def flatten_grad_input(x_input, grad_output):
    n, c, h, w = x_input.shape
    return grad_output.reshape(n, c, h, w)
''',
    "loop": '''
def flatten_forward(x_input):
    out = []
    for obj in x_input:
        out.append(obj.flatten())
    return np.array(out)


def flatten_grad_input(x_input, grad_output):
    return np.array([row.reshape(x_input.shape[1:]) for row in grad_output])
''',
}

OLD_TEMPLATE_BLUR = '''
def box_blur(image, box_size):
    """Provided in the 2023 notebook: the blur written out, for comparison with yours."""
    offset = box_size // 2
    padded = np.pad(image, offset, mode="constant")
    result = np.zeros(image.shape)
    for row in range(image.shape[0]):
        for col in range(image.shape[1]):
            result[row, col] = np.mean(padded[row:row + box_size, col:col + box_size])
    return result
'''

# ------------------------------------------------------------ disguises by hand
WHILE_FOUR_LOOPS = '''
def conv_matrix(matrix, kernel):
    H, W = matrix.shape
    KH, KW = kernel.shape
    cy, cx = KH // 2, KW // 2
    out = np.zeros((H, W))
    y = 0
    while y < H:
        x = 0
        while x < W:
            total = 0.0
            dy = 0
            while dy < KH:
                dx = 0
                while dx < KW:
                    yy, xx = y + dy - cy, x + dx - cx
                    if 0 <= yy < H and 0 <= xx < W:
                        total = total + kernel[dy, dx] * matrix[yy, xx]
                    dx += 1
                dy += 1
            out[y, x] = total
            x += 1
        y += 1
    return out
'''
AUGASSIGN_SHIFTED = '''
def conv_matrix(matrix, kernel):
    kh, kw = kernel.shape
    ph, pw = kh // 2, kw // 2
    padded = np.pad(matrix, ((ph, ph), (pw, pw)))
    result = np.zeros_like(matrix, dtype=float)
    for a in range(kh):
        for b in range(kw):
            result = result + padded[a:matrix.shape[0] + a, b:b + matrix.shape[1]] * kernel[a, b]
    return result
'''
SUM_METHOD_ROWS = '''
def zero_pad(a, top, left):
    rows, cols = a.shape
    res = np.zeros((rows + 2 * top, cols + 2 * left))
    res[top:top + rows, left:left + cols] = a
    return res


def conv_matrix(matrix, kernel):
    kr, kc = kernel.shape
    padded = zero_pad(matrix, kr // 2, kc // 2)
    rows = []
    for i in range(matrix.shape[0]):
        rows.append([(padded[i:i + kr, j:j + kc] * kernel).sum() for j in range(matrix.shape[1])])
    return np.array(rows)
'''
WHILE_COMPARE_FOUR = '''
def maxpool_forward(x_input):
    nr, nc = x_input.shape[0] // 2, x_input.shape[1] // 2
    pooled = np.empty((nr, nc))
    i = 0
    while i < nr:
        for j in range(nc):
            best = x_input[2 * i, 2 * j]
            for di in (0, 1):
                for dj in (0, 1):
                    if x_input[2 * i + di, 2 * j + dj] > best:
                        best = x_input[2 * i + di, 2 * j + dj]
            pooled[i, j] = best
        i += 1
    return pooled
'''

_NAMES = ["grid", "filt", "acc", "tmp", "buf", "val", "span", "arr", "cur", "nxt", "lhs", "rhs",
          "part", "piece", "hold", "box", "cell", "item", "num", "amt", "step", "mark", "pos",
          "base", "edge", "slot", "unit", "core", "seed", "peak"]


def rename(source: str) -> str:
    """Every variable, parameter and helper renamed; the graded function keeps its name."""
    tree = ast.parse(source)
    graded = set(task_names())
    names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Store)} | {a.arg for a in ast.walk(tree)
                                                         if isinstance(a, ast.arg)}
                   | {f.name for f in tree.body if isinstance(f, ast.FunctionDef)} - graded)
    mapping = {name: f"{_NAMES[i % len(_NAMES)]}{i // len(_NAMES) or ''}"
               for i, name in enumerate(names)}
    return re.sub(r"\b[A-Za-z_]\w*\b", lambda m: mapping.get(m.group(), m.group()), source)


def comments_and_spacing(source: str) -> str:
    """Comments on every other line, blank lines, other spacing around operators."""
    out = []
    for number, line in enumerate(source.strip("\n").split("\n")):
        indent = line[:len(line) - len(line.lstrip())]
        if number % 2 and line.strip():
            out.append(f"{indent}# step {number}: see the lecture notes")
        out.append(line.replace(" + ", "+").replace(" * ", "*").replace(", ", ",  "))
        if number % 3 == 2:
            out.append("")
    return "\n" + "\n".join(out) + "\n"


def dead_code(source: str) -> str:
    """Statements that change nothing, after each function's first line."""
    lines = source.strip("\n").split("\n")
    out = []
    for line in lines:
        out.append(line)
        if line.startswith("def "):
            out += ["    debug = False", "    unused_total = np.zeros(3)", "    if debug:",
                    "        print('shapes', unused_total.shape)", "    pass"]
    return "\n" + "\n".join(out) + "\n"


def all_disguises(source: str) -> str:
    return dead_code(comments_and_spacing(rename(source)))


# ------------------------------------------------------------------- the class
# (student, {function: (origin, source)}, merged): the origin is who wrote the code; two
# students whose code for a function has one origin are a copy. Short code and the old
# template's code have origins of their own that no pair is expected to be flagged for.
_SHORT_BLUR = ["ones_over_area", "full", "normalised_ones"]
_SHORT_POOL = ["strided_maxima", "stacked_corners"]  # each written by four students
_SHORT_FLAT = ["reshape", "np_reshape", "product"]
HONEST = ["shifted_windows", "manual_padding", "four_loops", "sliding_view", "helper_and_rows",
          "im2col", "loop_a", "loop_b", "loop_c", "loop_d", "loop_e"]


def _honest_class() -> dict:
    students = {}
    blur_own = {2: "loops_mean", 4: "integral_image"}
    pool_own = {1: "loops", 5: "list_of_rows", 8: "compare_four"}
    for i, style in enumerate(HONEST):
        who = f"s{i + 1:02d}_{style}"
        blur = blur_own.get(i, _SHORT_BLUR[i % 3])
        blur_source = OLD_TEMPLATE_BLUR if i >= 6 else BLUR[blur]
        blur_origin = "old_template" if i >= 6 else (who if i in blur_own else f"short_{blur}")
        pool = pool_own.get(i, _SHORT_POOL[i > 4])
        flat = "loop" if i == 3 else _SHORT_FLAT[i % 3]
        students[who] = {
            "conv_matrix": (who, CONV[style]),
            "box_blur": (blur_origin, blur_source),
            "maxpool_forward": (who if i in pool_own else f"short_{pool}", POOL[pool]),
            "flatten_forward": (who if i == 3 else f"short_{flat}", FLATTEN[flat]),
        }
    students["s12_untouched"] = {}
    students["s13_minimal"] = {"flatten_forward": ("short_reshape", FLATTEN["reshape"]),
                               "maxpool_forward": ("short_reshape_max", POOL["reshape_max"])}
    students["s14_minimal"] = {"maxpool_forward": ("short_reshape_max", POOL["reshape_max"])}
    return students


def _author(students: dict, style: str) -> str:
    return next(who for who in students if who.endswith("_" + style))


def labelled_class() -> tuple[dict, dict]:
    """``({student: {function: (origin, source)}}, {copier: disguise})``."""
    students = _honest_class()
    s = {style: _author(students, style) for style in HONEST}
    pool_of = {who: code["maxpool_forward"] for who, code in students.items()
               if "maxpool_forward" in code}
    copies = {
        "c01_renamed": {"conv_matrix": (s["four_loops"], rename(CONV["four_loops"]))},
        "c02_comments": {"conv_matrix": (s["manual_padding"],
                                         comments_and_spacing(CONV["manual_padding"]))},
        "c03_reordered": {"conv_matrix": (s["im2col"], CONV["im2col"]),
                          "maxpool_forward": pool_of[s["loop_c"]]},
        "c04_while": {"conv_matrix": (s["four_loops"], WHILE_FOUR_LOOPS)},
        "c05_augassign": {"conv_matrix": (s["shifted_windows"], AUGASSIGN_SHIFTED)},
        "c06_sum_method": {"conv_matrix": (s["helper_and_rows"], SUM_METHOD_ROWS)},
        "c07_dead_code": {"conv_matrix": (s["sliding_view"], dead_code(CONV["sliding_view"])),
                          "maxpool_forward": (s["manual_padding"], dead_code(POOL["loops"]))},
        "c08_partial": {"conv_matrix": (s["helper_and_rows"], rename(CONV["helper_and_rows"])),
                        "maxpool_forward": (s["im2col"], POOL["list_of_rows"]),
                        "box_blur": ("short_full", BLUR["full"]),
                        "flatten_forward": ("short_reshape", FLATTEN["reshape"])},
        "c09_common_loop": {"conv_matrix": (s["loop_b"], rename(CONV["loop_b"]))},
        "c10_all": {"maxpool_forward": (s["loop_c"], all_disguises(WHILE_COMPARE_FOUR)),
                    "box_blur": (s["four_loops"], all_disguises(BLUR["loops_mean"]))},
    }
    students.update(copies)
    return students, {who: who.split("_", 1)[1] for who in copies}


def expected_pairs(students: dict, function: str) -> set[frozenset]:
    """The pairs that are copies for ``function``: one origin, not short, not a template's."""
    by_origin: dict[str, list[str]] = {}
    for who, code in students.items():
        if function in code:
            by_origin.setdefault(code[function][0], []).append(who)
    return {frozenset((a, b)) for origin, group in by_origin.items()
            if not origin.startswith(("short_", "old_template")) for a in group for b in group
            if a < b}


def _split(source: str) -> tuple[dict, list[str]]:
    """``({graded function: its text}, [helper texts])`` of a piece of student code."""
    tree = ast.parse(textwrap.dedent(source))
    lines = textwrap.dedent(source).split("\n")
    graded, helpers = {}, []
    for node in tree.body:
        text = "\n".join(lines[node.lineno - 1:node.end_lineno])
        if node.name in task_names():
            graded[node.name] = text
        else:
            helpers.append(text)
    return graded, helpers


def notebook_of(code: dict, *, merged: bool = False):
    """The assignment notebook with the student's code: in the stubs, or in one last cell."""
    notebook = nb.load_notebook(paths.KIT_ROOT / "assignment.ipynb")
    pieces = [source for _, source in code.values()]
    if merged:
        text = "\n\n\n".join(textwrap.dedent(p).strip("\n") for p in reversed(pieces))
        notebook.cells.append(nbformat.v4.new_code_cell(text))
        return notebook
    for piece in pieces:
        graded, helpers = _split(piece)
        for number, (name, text) in enumerate(graded.items()):
            cell = notebook.cells[nb.stub_cells(notebook)[name]]
            text = "\n\n\n".join(helpers + [text]) if number == 0 else text
            cell.source = nb.replace_function(cell.source, name, text)
    return notebook


def write_class(folder, students: dict) -> None:
    """``folder/<student>/assignment.ipynb`` for each student."""
    for who, code in students.items():
        (folder / who).mkdir(parents=True)
        nbformat.write(notebook_of(code, merged="reordered" in who),
                       str(folder / who / "assignment.ipynb"))
