"""Draw the max pooling and 'same' padding illustrations into images/.

Three PNG files are written, all from fixed numbers, so two runs with the same
matplotlib version give identical bytes:

* ``max_pool_forward.png``: a 4x4 ``x_input``, its four 2x2 windows in four
  colours, and the 2x2 max-pooled output;
* ``max_pool_backward.png``: a 2x2 ``grad_output`` routed to the argmax cell
  of each window of ``x_input``, zeros elsewhere;
* ``same_padding.png``: a 5x5 matrix zero-padded to 7x7 so that a 3x3 kernel
  gives a 5x5 output.

Usage:
    python scripts/draw_pooling.py              # writes into images/
    python scripts/draw_pooling.py --out DIR    # writes into DIR
"""

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402
from matplotlib.path import Path as CurvePath  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "images"
DPI = 100

# Each 2x2 window holds one clear maximum, at a different corner each time and on
# the outer border of the matrix, so the backward picture's arrows can reach it.
X_INPUT = np.array([[1, 3, 2, 8],
                    [4, 2, 0, 1],
                    [6, 5, 2, 3],
                    [1, 2, 0, 7]])
GRAD_OUTPUT = np.array([[0.5, -1.0],
                        [2.0, 0.3]])
PAD_SEED = 7          # seed of the 5x5 matrix in the padding picture
LAPLACIAN = np.array([[0, 1, 0],
                      [1, -4, 1],
                      [0, 1, 0]])

# Light fill for a window, strong fill for its maximum (matplotlib's tab10 pairs).
LIGHT = ["#aec7e8", "#ffbb78", "#98df8a", "#ff9896"]
STRONG = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
PAD_GREY = "#e0e0e0"


def max_pool_2x2(x_input):
    """2x2 max pooling with stride 2, and where each maximum sits.

    Args:
        x_input: (height, width) with even height and width.

    Returns:
        (pooled, is_max): pooled is (height // 2, width // 2); is_max is a
        (height, width) bool mask, True at the first maximum (row-major) of
        each window.

    Raises:
        ValueError: if ``x_input`` is not 2-D with even sides.
    """
    x_input = np.asarray(x_input)
    if x_input.ndim != 2 or x_input.shape[0] % 2 or x_input.shape[1] % 2:
        raise ValueError(f"x_input must be (even h, even w), got shape {x_input.shape}")
    h2, w2 = x_input.shape[0] // 2, x_input.shape[1] // 2
    cells = x_input.reshape(h2, 2, w2, 2).transpose(0, 2, 1, 3).reshape(h2, w2, 4)
    winner = cells.argmax(axis=-1)
    is_max = np.zeros((h2, w2, 4), dtype=bool)
    np.put_along_axis(is_max, winner[..., None], True, axis=-1)
    is_max = is_max.reshape(h2, w2, 2, 2).transpose(0, 2, 1, 3).reshape(x_input.shape)
    return cells.max(axis=-1), is_max


def window_index(row, col):
    """Index 0..3 of the 2x2 window holding cell (row, col) of a 4x4 matrix."""
    return 2 * (row // 2) + col // 2


def draw_grid(ax, labels, *, left, top, fills, bold=None, text_colors=None, fontsize=16):
    """Draw a table of square cells with a label in each.

    Args:
        ax: the matplotlib Axes (data units: one cell = 1 x 1, y grows upward).
        labels: (rows, cols) array of strings.
        left, top: data coordinates of the grid's top-left corner.
        fills: (rows, cols) array of fill colours.
        bold: optional (rows, cols) bool array; True cells get bold text.
        text_colors: optional (rows, cols) array of text colours (default black).
        fontsize: label font size in points.
    """
    rows, cols = labels.shape
    for i in range(rows):
        for j in range(cols):
            ax.add_patch(Rectangle((left + j, top - i - 1), 1, 1, facecolor=fills[i, j],
                                   edgecolor="black", linewidth=1))
            ax.text(left + j + 0.5, top - i - 0.5, labels[i, j], ha="center", va="center",
                    fontsize=fontsize, color="black" if text_colors is None else text_colors[i, j],
                    fontweight="bold" if bold is not None and bold[i, j] else "normal")


def outline(ax, left, top, width, height, *, color="black", linewidth=3):
    """Draw a thick rectangle outline whose top-left corner is (left, top)."""
    ax.add_patch(Rectangle((left, top - height), width, height, fill=False,
                           edgecolor=color, linewidth=linewidth))


def arrow(ax, start, end, *, color="black", rad=0.0, linewidth=2):
    """Draw an arrow from ``start`` to ``end`` (data coordinates)."""
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color=color, linewidth=linewidth,
                                mutation_scale=18, shrinkA=4, shrinkB=4,
                                connectionstyle=f"arc3,rad={rad}"))


def new_figure(width, height, xlim, ylim):
    """Figure with one equal-aspect Axes spanning it, without ticks or frame."""
    fig = plt.figure(figsize=(width, height), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def window_fills(is_max):
    """Light colour per 2x2 window, strong colour on each window's maximum.

    Args:
        is_max: (4, 4) bool mask of the window maxima.

    Returns:
        (4, 4) object array of colours.
    """
    fills = np.empty(is_max.shape, dtype=object)
    for i, j in np.ndindex(*is_max.shape):
        fills[i, j] = (STRONG if is_max[i, j] else LIGHT)[window_index(i, j)]
    return fills


def draw_pooled_matrix(ax, labels, is_max, *, left, top, fontsize=16):
    """Draw a 4x4 matrix with coloured 2x2 windows and highlighted maxima."""
    draw_grid(ax, labels, left=left, top=top, fills=window_fills(is_max), bold=is_max,
              text_colors=np.where(is_max, "white", "black"), fontsize=fontsize)
    for k in range(4):
        outline(ax, left + 2 * (k % 2), top - 2 * (k // 2), 2, 2)


def draw_two_by_two(ax, labels, *, left, top):
    """Draw a 2x2 matrix, one strong window colour per cell, bold white text."""
    draw_grid(ax, labels, left=left, top=top, fills=np.array(STRONG, dtype=object).reshape(2, 2),
              bold=np.ones((2, 2), bool), text_colors=np.full((2, 2), "white"))
    outline(ax, left, top, 2, 2)


def number_labels(values):
    """Short text for each number: 0.5, -1, 2, 0.3 (no trailing zeros)."""
    return np.vectorize(lambda value: f"{value:g}")(values)


def draw_forward(path):
    """Draw x_input, its coloured 2x2 windows and the max-pooled output."""
    pooled, is_max = max_pool_2x2(X_INPUT)
    fig, ax = new_figure(8.4, 4.0, (-0.3, 10.2), (-4.6, 0.3))
    top = -0.6
    draw_pooled_matrix(ax, number_labels(X_INPUT), is_max, left=0, top=top)
    draw_two_by_two(ax, number_labels(pooled), left=7.5, top=top - 1)
    arrow(ax, (4.5, top - 2), (7.2, top - 2))
    ax.text(5.85, top - 1.6, "max of each\n2x2 window", ha="center", va="bottom", fontsize=13)
    ax.text(5.85, top - 2.4, "stride 2", ha="center", va="top", fontsize=13)
    ax.text(2, 0, "x_input (4x4)", ha="center", va="center", fontsize=15)
    ax.text(8.5, -1.1, "output (2x2)", ha="center", va="center", fontsize=15)
    save(fig, path)


def route_gradient(ax, k, *, source_left, target_left, target, top):
    """Draw a curved arrow from cell k of grad_output to its target cell.

    The arrows leave the 2x2 grid upward (top row) or downward (bottom row)
    and reach the target cell on a border of the 4x4 grid, so no arrow hides
    a number. This needs each window's maximum on the outer border of the
    4x4 matrix, as in ``X_INPUT``.

    Args:
        ax: the Axes to draw on.
        k: window index 0..3 (row-major), also the cell of grad_output.
        source_left: x of the grad_output grid's left side.
        target_left: x of the grad_input grid's left side.
        target: (row, col) of the target cell in the 4x4 grad_input.
        top: y of the top side of both 4x4 grids.

    Raises:
        ValueError: if the target cell cannot be reached from outside.
    """
    row, col = target
    upper = k // 2 == 0
    sign = 1 if upper else -1
    start = (source_left + 0.5 + k % 2, top - 1 if upper else top - 3)
    if col == 0:  # enter through the left side of the grid
        end = (target_left, top - row - 0.5)
        controls = [(start[0], start[1] + 0.9 * sign), (end[0] - 1.8, end[1])]
    elif row in (0, 3) and (row == 0) == upper:  # enter through the top or bottom side
        end = (target_left + col + 0.5, top if upper else top - 4)
        controls = [(start[0], start[1] + 2.2 * sign), (end[0], end[1] + 1.2 * sign)]
    else:
        raise ValueError(f"window {k}: maximum at {target} is not reachable from outside")
    curve = CurvePath([start, *controls, end], [CurvePath.MOVETO] + [CurvePath.CURVE4] * 3)
    ax.add_patch(FancyArrowPatch(path=curve, arrowstyle="-|>", mutation_scale=18,
                                 color=STRONG[k], linewidth=2.2))


def draw_backward(path):
    """Draw grad_output routed back to the argmax cell of each window."""
    _, is_max = max_pool_2x2(X_INPUT)
    grad_input = np.kron(GRAD_OUTPUT, np.ones((2, 2))) * is_max
    fig, ax = new_figure(11.8, 5.6, (-0.3, 16.3), (-7.3, 0.5))
    top, mid_left, right_left = -1.5, 6.6, 12.0
    draw_pooled_matrix(ax, number_labels(X_INPUT), is_max, left=0, top=top, fontsize=14)
    draw_two_by_two(ax, number_labels(GRAD_OUTPUT), left=mid_left, top=top - 1)
    grad_labels = np.where(is_max, number_labels(grad_input), "0")
    draw_pooled_matrix(ax, grad_labels, is_max, left=right_left, top=top)
    for k in range(4):
        r0, c0 = 2 * (k // 2), 2 * (k % 2)
        (dr, dc), = np.argwhere(is_max[r0:r0 + 2, c0:c0 + 2])
        route_gradient(ax, k, source_left=mid_left, target_left=right_left,
                       target=(r0 + dr, c0 + dc), top=top)
    ax.text(2, top + 1.25, "x_input (max in bold)", ha="center", va="center", fontsize=14)
    ax.text(mid_left - 1.2, top - 2, "grad_output\n(2x2)", ha="center", va="center", fontsize=14)
    ax.text(right_left + 2, top + 1.25, "grad_input (4x4)", ha="center", va="center", fontsize=14)
    ax.text(8, -6.95, "each gradient goes back to the cell that held its window's maximum;"
            " every other cell gets 0", ha="center", va="center", fontsize=13)
    save(fig, path)


def same_cross_correlation(matrix, kernel):
    """Zero-pad ``matrix`` and slide an odd square ``kernel`` over it.

    Args:
        matrix: (h, w) array.
        kernel: (k, k) array with k odd.

    Returns:
        (padded, out): padded is (h + k - 1, w + k - 1); out is (h, w).
    """
    size = kernel.shape[0]
    padded = np.pad(matrix, (size - 1) // 2)
    out = np.zeros(matrix.shape, dtype=np.result_type(matrix, kernel))
    for i, j in np.ndindex(*matrix.shape):
        out[i, j] = np.sum(padded[i:i + size, j:j + size] * kernel)
    return padded, out


def draw_same_padding(path):
    """Draw a 5x5 matrix, zero-padded to 7x7, a 3x3 kernel and the 5x5 output."""
    matrix = np.random.default_rng(PAD_SEED).integers(0, 10, size=(5, 5))
    padded, out = same_cross_correlation(matrix, LAPLACIAN)
    fig, ax = new_figure(12.0, 5.0, (-0.3, 18.3), (-8.3, 0.9))
    top = -0.5
    is_pad = np.ones(padded.shape, dtype=bool)
    is_pad[1:-1, 1:-1] = False
    fills = np.where(is_pad, PAD_GREY, "white").astype(object)
    fills[0:3, 0:3] = np.where(is_pad[0:3, 0:3], "#ffd8b0", LIGHT[1])
    draw_grid(ax, number_labels(padded), left=0, top=top, fills=fills, fontsize=14,
              text_colors=np.where(is_pad, "#707070", "black"))
    outline(ax, 1, top - 1, 5, 5, color="black", linewidth=2)
    outline(ax, 0, top, 3, 3, color=STRONG[1], linewidth=3.5)
    ax.text(7.6, top - 3.5, "*", ha="center", va="center", fontsize=28)
    draw_grid(ax, number_labels(LAPLACIAN), left=8.3, top=top - 2,
              fills=np.full((3, 3), LIGHT[0]), fontsize=14)
    ax.text(12.2, top - 3.5, "=", ha="center", va="center", fontsize=28)
    out_fills = np.full(out.shape, "white", dtype=object)
    out_fills[0, 0] = LIGHT[1]
    draw_grid(ax, number_labels(out), left=13, top=top - 1, fills=out_fills, fontsize=14)
    outline(ax, 13, top - 1, 1, 1, color=STRONG[1], linewidth=3.5)
    ax.text(3.5, 0.35, "input 5x5, zero-padded to 7x7", ha="center", va="center", fontsize=14)
    ax.text(9.8, top - 1.4, "kernel 3x3", ha="center", va="center", fontsize=14)
    ax.text(15.5, 0.35, "output 5x5 ('same')", ha="center", va="center", fontsize=14)
    ax.text(9.0, -7.9, "kernel size k = 3, so pad = (k - 1) / 2 = 1 ring of zeros (grey);"
            " the orange window gives the orange output cell",
            ha="center", va="center", fontsize=13)
    save(fig, path)


def save(fig, path):
    """Save ``fig`` as a PNG without version or date metadata, then close it."""
    fig.savefig(path, dpi=DPI, facecolor="white", metadata={"Software": None})
    plt.close(fig)


DRAWINGS = {
    "max_pool_forward.png": draw_forward,
    "max_pool_backward.png": draw_backward,
    "same_padding.png": draw_same_padding,
}


def draw_all(out_dir):
    """Write every illustration into ``out_dir`` (created if missing).

    Args:
        out_dir: destination folder.

    Returns:
        List of the written paths, in the order of ``DRAWINGS``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with plt.style.context("default"):  # ignore any local matplotlibrc
        for name, draw in DRAWINGS.items():
            draw(out_dir / name)
            written.append(out_dir / name)
    return written


def main(argv=None):
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder to write the PNG files into (default: images/)")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        print(f"Error: --out {args.out} exists and is not a folder", file=sys.stderr)
        return 1
    for path in draw_all(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
