"""Build the small MNIST sample shipped in data/mnist-sample/.

The sample lets the kit run without downloading MNIST. It holds the two digits
of the notebook's experiment, 3 and 8: the first 2000 such training images, and
every such test image (1984) as long as the four gzipped files stay under 1 MB
together; otherwise the first test images that fit. The files are real IDX
files, gzipped with a fixed timestamp, so running this script again gives the
same bytes.

Usage, from the repository root:
    python -m scripts.build_mnist_sample [--source ../shared/data/mnist] [--dest data/mnist-sample]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import struct
import sys
from pathlib import Path

import numpy as np

import dataset_utils

REPO_DIR = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO_DIR.parent / "shared" / "data" / "mnist"
DEFAULT_DEST = REPO_DIR / "data" / "mnist-sample"
N_TRAIN = 2000
DIGITS = (3, 8)  # the notebook's experiment: dataset_utils.binary_digits' default
SIZE_BUDGET = 1_000_000  # bytes, for the four .gz files together
COMMAND = "python -m scripts.build_mnist_sample"


def gzip_idx(array: np.ndarray, magic: int) -> bytes:
    """Encode a uint8 array as an IDX file, gzipped reproducibly.

    Args:
        array: uint8 (n, 28, 28) images (magic 2051) or (n,) labels (magic 2049).
        magic: the IDX magic number to write.

    Returns:
        The gzip bytes: level 9, mtime 0, OS byte 255 ("unknown").
    """
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    raw = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    packed = bytearray(gzip.compress(raw, compresslevel=9, mtime=0))
    # Python 3.11 and 3.12 write the OS of the machine into byte 9 (3 on Linux,
    # other values elsewhere); 3.10 and 3.13+ write 255. Fix it to 255 so the
    # bytes do not depend on the Python version or the OS (CPython gh-112346).
    packed[9] = 255
    return bytes(packed)


def _split_files(prefix: str, images: np.ndarray, labels: np.ndarray) -> dict[str, bytes]:
    """The two gzipped IDX files of one split, by file name."""
    return {
        f"{prefix}-images-idx3-ubyte.gz": gzip_idx(images, dataset_utils.IMAGE_MAGIC),
        f"{prefix}-labels-idx1-ubyte.gz": gzip_idx(labels, dataset_utils.LABEL_MAGIC),
    }


def _digits(images: np.ndarray, labels: np.ndarray,
            digits: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The images whose label is one of `digits`, in their original order."""
    keep = np.isin(labels, digits)
    return images[keep], labels[keep]


def _fit_test_split(images: np.ndarray, labels: np.ndarray, budget: int) -> dict[str, bytes]:
    """Gzipped test files with as many leading images as fit in `budget` bytes."""
    def files(n: int) -> dict[str, bytes]:
        return _split_files("t10k", images[:n], labels[:n])

    if sum(map(len, files(len(labels)).values())) <= budget:
        return files(len(labels))
    low, high = 0, len(labels)  # files(low) fits, files(high) does not
    while high - low > 1:
        middle = (low + high) // 2
        if sum(map(len, files(middle).values())) <= budget:
            low = middle
        else:
            high = middle
    return files(low)


def build_sample(
    *, source: Path = DEFAULT_SOURCE, dest: Path = DEFAULT_DEST,
    n_train: int = N_TRAIN, size_budget: int = SIZE_BUDGET, digits: tuple[int, ...] = DIGITS,
) -> dict[str, bytes]:
    """Write the sample's four .gz files and its README.md into `dest`.

    Args:
        source: folder with the full MNIST IDX files (raw or .gz).
        dest: folder to write; created if needed, files in it overwritten.
        n_train: how many training images (of `digits`) to keep.
        size_budget: bytes allowed for the four .gz files together.
        digits: the labels kept.

    Returns:
        The bytes written, by file name (README.md included).

    Raises:
        FileNotFoundError, ValueError: as dataset_utils.load_mnist_arrays.
    """
    train_images, train_labels = _digits(*dataset_utils.load_mnist_arrays("training", source), digits)
    files = _split_files("train", train_images[:n_train], train_labels[:n_train])
    test_images, test_labels = _digits(*dataset_utils.load_mnist_arrays("testing", source), digits)
    budget = size_budget - sum(map(len, files.values()))
    files.update(_fit_test_split(test_images, test_labels, budget))
    readme = render_readme(files, n_test_available=len(test_labels), digits=digits)
    files["README.md"] = readme.encode()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (dest / name).write_bytes(data)
    return files


def _count(data: bytes) -> int:
    """Number of items in a gzipped IDX file (the first dimension)."""
    return struct.unpack(">I", gzip.decompress(data)[4:8])[0]


def render_readme(files: dict[str, bytes], *, n_test_available: int,
                  digits: tuple[int, ...] = DIGITS) -> str:
    """The README.md of the sample: contents, how it was built, checksums."""
    n_train = _count(files["train-labels-idx1-ubyte.gz"])
    n_test = _count(files["t10k-labels-idx1-ubyte.gz"])
    total = sum(len(data) for data in files.values())
    shown = " or ".join(str(d) for d in digits)
    if n_test == n_test_available:
        test_text = f"all {n_test} images with label {shown}"
    else:
        test_text = (f"the first {n_test} of the {n_test_available} images with label "
                     f"{shown} (all of them would exceed the {SIZE_BUDGET}-byte budget)")
    rows = "\n".join(
        f"| {name} | {len(data)} | {hashlib.md5(data).hexdigest()} | "
        f"{hashlib.md5(gzip.decompress(data)).hexdigest()} |"
        for name, data in files.items()
    )
    return f"""# MNIST sample (digits {" and ".join(str(d) for d in digits)})

A small part of MNIST, shipped so the kit works without downloading anything: the
digits of the notebook's experiment. `dataset_utils.find_mnist()` falls back to this
folder when `data/mnist` is empty and `MNIST_DIR` is not set. Run
`{dataset_utils.DOWNLOAD_COMMAND}` to get the full data set.

Contents, in their original order and with their labels:
- training: the first {n_train} images with label {shown};
- test: {test_text}.

The files are real IDX files (magic 2051 for images, 2049 for labels), gzipped;
{total} bytes together.

Built from the four full MNIST files by

    {COMMAND} --source ../shared/data/mnist

(`--source` defaults to `../shared/data/mnist`; `data/mnist` after the download works
too). The gzip timestamp is fixed at 0 and the OS byte at 255, so running the command
again gives the same bytes, given the same zlib; `tests/test_dataset_utils.py` checks this.

License: MNIST by Yann LeCun, Corinna Cortes and Christopher J. C. Burges,
CC BY-SA 3.0 (as stated by the MNIST authors). This sample is shared under the same license.

| file | bytes | md5 (.gz) | md5 (decompressed) |
|---|---|---|---|
{rows}
"""


def main(argv: list[str] | None = None) -> int:
    """Command line: build the sample; exit 1 with `Error: ...` on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="folder with the full MNIST files (default: %(default)s)")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST,
                        help="folder to write the sample to (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        files = build_sample(source=args.source, dest=args.dest)
    except (FileNotFoundError, ValueError) as exc:
        print(f"Error: {exc}\nPass --source with the folder of the full MNIST files.",
              file=sys.stderr)
        return 1
    for name, data in files.items():
        print(f"wrote {args.dest / name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
