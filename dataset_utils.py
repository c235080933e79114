"""Load the MNIST digits from their original IDX files.

MNIST comes as four files: training images and labels, test ("t10k") images
and labels. Each is an IDX file: a small big-endian header (a magic number,
then one 4-byte size per dimension) followed by the raw uint8 values. The
files may be gzipped (`.gz`); both forms are read.

Where the data comes from (see `find_mnist`):
  1. a folder you pass explicitly,
  2. else the folder named by the environment variable MNIST_DIR,
  3. else `data/mnist` next to this file, once `make data` has filled it,
  4. else the small sample shipped in `data/mnist-sample` (digits 0 and 1).

Typical use in the notebook:
    print(describe_source())
    images, labels = load_mnist_arrays("training")
    x_train, y_train = binary_digits(images, labels, n_max=1000)
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
REPO_DIR = Path(__file__).resolve().parent
FULL_DIR = REPO_DIR / "data" / "mnist"
SAMPLE_DIR = REPO_DIR / "data" / "mnist-sample"
FULL_COUNTS = {"training": 60000, "testing": 10000}
HOW_TO_GET_DATA = (
    "Run `make data` to download MNIST into data/mnist, "
    "or set MNIST_DIR to a folder that holds the four MNIST IDX files."
)
_PREFIXES = {"training": "train", "testing": "t10k"}


def _check_dataset(dataset: str) -> str:
    """Return the file prefix ("train" or "t10k") for a dataset name."""
    if dataset == "training" or dataset == "testing":
        return _PREFIXES[dataset]
    raise ValueError(
        f"dataset must be 'training' or 'testing', got {dataset!r}"
    )


def _candidates(directory: Path, prefix: str, kind: str) -> list[Path]:
    """All file names accepted for one file, in order of preference."""
    n_dims = 3 if kind == "images" else 1
    names = [f"{prefix}-{kind}-idx{n_dims}-ubyte", f"{prefix}-{kind}.idx{n_dims}-ubyte"]
    return [directory / (name + ext) for name in names for ext in ("", ".gz")]


def _locate(directory: Path, datasets: tuple[str, ...]) -> dict[tuple[str, str], Path]:
    """Find the image and label files of the given datasets in a folder.

    Raises:
        FileNotFoundError: if any file is missing; lists every path looked for.
    """
    found, looked_for = {}, []
    for dataset in datasets:
        for kind in ("images", "labels"):
            paths = _candidates(directory, _check_dataset(dataset), kind)
            found[dataset, kind] = next((p for p in paths if p.is_file()), None)
            looked_for.extend(paths)
    if None in found.values():
        raise _not_found(looked_for)
    return found


def _not_found(looked_for: list[Path]) -> FileNotFoundError:
    """The error for missing MNIST files, listing every path looked for."""
    listing = "\n  ".join(os.path.abspath(p) for p in looked_for)
    hint = ""
    if not any(p.parent == SAMPLE_DIR for p in looked_for):
        hint = (" Or pass path=None: then MNIST_DIR, data/mnist and the bundled "
                "sample data/mnist-sample are searched, in that order.")
    return FileNotFoundError(
        f"MNIST files not found. Looked for:\n  {listing}\n{HOW_TO_GET_DATA}{hint}"
    )


def _read_bytes(path: Path, limit: int = -1) -> bytes:
    """Read a file (gunzipping `.gz` files); `limit` bytes, or all when -1."""
    if path.suffix != ".gz":
        with open(path, "rb") as handle:
            return handle.read(limit)
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(limit)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(
            f"{path}: not a valid gzip file ({exc}). "
            f"Delete it and get the data again. {HOW_TO_GET_DATA}"
        ) from exc


def _parse_header(data: bytes, path: Path, magic: int) -> tuple[int, ...]:
    """Check the magic number of an IDX file and return its dimensions."""
    what = "image" if magic == IMAGE_MAGIC else "label"
    n_dims = 3 if magic == IMAGE_MAGIC else 1
    header_size = 4 + 4 * n_dims
    if len(data) < header_size:
        raise ValueError(
            f"{path}: only {len(data)} bytes, too short for the {header_size}-byte "
            f"header of an MNIST {what} file; the file is truncated."
        )
    found_magic = int.from_bytes(data[:4], "big")
    if found_magic != magic:
        hint = " It looks gzipped: give it a .gz name." if data[:2] == b"\x1f\x8b" else ""
        raise ValueError(
            f"{path}: magic number is {found_magic}, expected {magic} for an "
            f"MNIST {what} file; this is not an MNIST {what} file.{hint}"
        )
    return struct.unpack(f">{n_dims}I", data[4:header_size])


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Read a whole IDX file into a uint8 array shaped as its header says.

    Raises:
        ValueError: wrong magic number, or a size that disagrees with the header.
    """
    data = _read_bytes(path)
    dims = _parse_header(data, path, magic)
    header_size = 4 + 4 * len(dims)
    expected = header_size + int(np.prod(dims))
    if len(data) != expected:
        what = "image" if magic == IMAGE_MAGIC else "label"
        shape = " x ".join(str(d) for d in dims)
        raise ValueError(
            f"{path}: header says {shape}, so expected {expected} bytes of {what} "
            f"data, found {len(data)}. The file is truncated or damaged: "
            f"delete it and get the data again. {HOW_TO_GET_DATA}"
        )
    pixels = np.frombuffer(data, dtype=np.uint8, offset=header_size)
    return pixels.reshape(dims).copy()  # a copy owns its memory and is writable


def _pick_directory(path: str | os.PathLike | None) -> Path:
    """Apply the search order of `find_mnist`.

    Raises:
        FileNotFoundError: no path, no MNIST_DIR, and neither data/mnist nor
            the sample holds the four files.
    """
    if path is not None:
        return Path(path)
    env = os.environ.get("MNIST_DIR", "")
    if env:
        return Path(env)
    looked_for = []
    for directory in (FULL_DIR, SAMPLE_DIR):
        try:
            _locate(directory, ("training", "testing"))
            return directory
        except FileNotFoundError:
            looked_for.extend(
                candidate
                for prefix in ("train", "t10k")
                for kind in ("images", "labels")
                for candidate in _candidates(directory, prefix, kind)
            )
    raise _not_found(looked_for)


def _image_counts(directory: Path) -> dict[str, int]:
    """Number of training and test images, read from the file headers only."""
    files = _locate(directory, ("training", "testing"))
    counts = {}
    for dataset in ("training", "testing"):
        path = files[dataset, "images"]
        counts[dataset] = _parse_header(_read_bytes(path, 16), path, IMAGE_MAGIC)[0]
    return counts


def find_mnist(path: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Choose the folder to read MNIST from.

    Order: `path` if given; else $MNIST_DIR if set; else `data/mnist` next to
    this file if it holds all four files; else the bundled `data/mnist-sample`.

    Args:
        path: a folder holding the four IDX files (raw or `.gz`), or None.

    Returns:
        (directory, kind): kind is "full" when the folder holds the 60000
        training and 10000 test images, else "sample".

    Raises:
        FileNotFoundError: the chosen folder lacks a file; lists what was looked for.
    """
    directory = _pick_directory(path)
    kind = "full" if _image_counts(directory) == FULL_COUNTS else "sample"
    return directory, kind


def describe_source(path: str | os.PathLike | None = None) -> str:
    """One sentence saying which MNIST data will be used, for the notebook.

    Args:
        path: as for `find_mnist`.

    Returns:
        e.g. "Using the full MNIST data set from data/mnist (60000 training,
        10000 test images)".
    """
    directory = _pick_directory(path)
    counts = _image_counts(directory)
    kind = "full" if counts == FULL_COUNTS else "sample"
    try:
        shown = directory.resolve().relative_to(REPO_DIR).as_posix()
    except ValueError:
        shown = str(directory)
    name = "the full MNIST data set" if kind == "full" else "the bundled MNIST sample"
    if kind == "sample" and directory.resolve() != SAMPLE_DIR:
        name = "an MNIST sample"
    return (
        f"Using {name} from {shown} "
        f"({counts['training']} training, {counts['testing']} test images)"
    )


def load_mnist_arrays(
    dataset: str = "training", path: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load one MNIST split as two arrays, in one go.

    Args:
        dataset: "training" or "testing".
        path: folder with the IDX files; None searches as `find_mnist` does.

    Returns:
        (images, labels): images uint8 (n, 28, 28), pixel values 0..255;
        labels uint8 (n,), digits 0..9.

    Raises:
        ValueError: unknown `dataset`, or a damaged, truncated or foreign file,
            or image and label counts that disagree.
        FileNotFoundError: a file is missing; lists every path looked for.
    """
    _check_dataset(dataset)
    files = _locate(_pick_directory(path), (dataset,))
    images = _read_idx(files[dataset, "images"], IMAGE_MAGIC)
    labels = _read_idx(files[dataset, "labels"], LABEL_MAGIC)
    if len(images) != len(labels):
        raise ValueError(
            f"{files[dataset, 'images']} holds {len(images)} images but "
            f"{files[dataset, 'labels']} holds {len(labels)} labels; the two files "
            f"must come from the same MNIST split. {HOW_TO_GET_DATA}"
        )
    return images, labels


def load_mnist(
    dataset: str = "training", path: str | os.PathLike | None = "."
) -> Iterator[tuple[int, np.ndarray]]:
    """Iterate over one MNIST split, one (label, image) pair at a time.

    The classic course interface; `load_mnist_arrays` is the fast way to get
    everything at once. The files are checked when this is called, not when
    the first pair is taken.

    Args:
        dataset: "training" or "testing".
        path: folder with the IDX files; None searches as `find_mnist` does.

    Returns:
        A generator of (label, image): label an int 0..9, image uint8 (28, 28).

    Raises:
        As `load_mnist_arrays`.
    """
    images, labels = load_mnist_arrays(dataset, path)
    return ((int(label), image) for label, image in zip(labels, images))


def binary_digits(
    images: np.ndarray, labels: np.ndarray, n_max: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the digits 0 and 1, for a two-class experiment.

    Args:
        images: uint8 (n, 28, 28), values 0..255.
        labels: (n,), digits 0..9.
        n_max: keep at most this many (the first ones); None keeps all.

    Returns:
        (x, y): x float64 (m, 1, 28, 28) scaled to [0, 1], one channel;
        y int64 (m,), -1 for the digit 0 and +1 for the digit 1.

    Raises:
        ValueError: shapes that do not match, or a negative n_max.
        TypeError: n_max that is not an int or None.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        raise ValueError(
            f"expected images (n, 28, 28) and labels (n,), got {images.shape} "
            f"and {labels.shape}"
        )
    if n_max is not None and (not isinstance(n_max, (int, np.integer)) or isinstance(n_max, bool)):
        raise TypeError(f"n_max must be an int or None, got {n_max!r}")
    if n_max is not None and n_max < 0:
        raise ValueError(f"n_max must be >= 0, got {n_max}")
    keep = np.flatnonzero(labels < 2)[:n_max]
    x = images[keep, np.newaxis].astype(np.float64) / 255.0
    y = np.where(labels[keep] == 1, 1, -1).astype(np.int64)
    return x, y
