"""Load the MNIST digits from their original IDX files, and download them.

MNIST comes as four files: training images and labels, test ("t10k") images
and labels. Each is an IDX file: a small big-endian header (a magic number,
then one 4-byte size per dimension) followed by the raw uint8 values. The
files may be gzipped (`.gz`); both forms are read.

Where the data comes from (see `find_mnist`):
  1. a folder you pass explicitly,
  2. else the folder named by the environment variable MNIST_DIR,
  3. else `data/mnist` next to this file, once the download below has filled it,
  4. else the small sample shipped in `data/mnist-sample` (digits 3 and 8).

Typical use in the notebook:
    print(describe_source())
    images, labels = load_mnist_arrays("training")
    x_train, y_train = binary_digits(images, labels, digits=(3, 8), n_max=1500)

To get the full data set (about 11 MB), from the folder of this file:
    python -m dataset_utils download [--dest data/mnist] [--mirror URL ...] [--timeout S]
Each file is checked by the MD5 of its decompressed content before it is kept.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import os
import struct
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
REPO_DIR = Path(__file__).resolve().parent
FULL_DIR = REPO_DIR / "data" / "mnist"
SAMPLE_DIR = REPO_DIR / "data" / "mnist-sample"
FULL_COUNTS = {"training": 60000, "testing": 10000}
DOWNLOAD_COMMAND = "python -m dataset_utils download"
HOW_TO_GET_DATA = (
    f"Run `{DOWNLOAD_COMMAND}` to download MNIST into data/mnist, "
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
    images: np.ndarray, labels: np.ndarray, n_max: int | None = None,
    digits: tuple[int, int] = (3, 8),
) -> tuple[np.ndarray, np.ndarray]:
    """Keep two digits, for a two-class experiment with targets -1 and +1.

    Args:
        images: uint8 (n, 28, 28), values 0..255.
        labels: (n,), digits 0..9.
        n_max: keep at most this many (the first ones); None keeps all.
        digits: (negative, positive): the digit whose target is -1, and the
            one whose target is +1. The bundled sample holds 3 and 8.

    Returns:
        (x, y): x float64 (m, 1, 28, 28) scaled to [0, 1], one channel;
        y int64 (m,), -1 for digits[0] and +1 for digits[1].

    Raises:
        ValueError: shapes that do not match, a negative n_max, or digits that
            are not two different labels 0..9.
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
    labels_ok = all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and 0 <= d <= 9
                    for d in digits)
    if len(digits) != 2 or len(set(digits)) != 2 or not labels_ok:
        raise ValueError(f"digits must be two different labels 0..9, e.g. (3, 8), got {digits!r}")
    negative, positive = digits
    keep = np.flatnonzero((labels == negative) | (labels == positive))[:n_max]
    x = images[keep, np.newaxis].astype(np.float64) / 255.0
    y = np.where(labels[keep] == positive, 1, -1).astype(np.int64)
    return x, y


# --- downloading the full data set ---------------------------------------------

# MD5 of the *decompressed* files (the well-known originals), so both the
# original .gz files and re-compressed copies pass.
FILE_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# Tried in this order; each serves <mirror><name>.gz.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://raw.githubusercontent.com/fgnt/mnist/master/",
    "http://yann.lecun.com/exdb/mnist/",
)
TIMEOUT = 30.0  # seconds, for connecting and for each read
TOTAL_SECONDS_PER_TIMEOUT = 20   # a whole file gets 20 timeouts (10 minutes by default)
MAX_FILE_BYTES = 16 << 20        # the largest MNIST file, gzipped, is 9.9 MB
_CHUNK = 1 << 16


class DownloadError(Exception):
    """No mirror delivered a valid copy of a file."""


def content_md5(path: Path, *, gzipped: bool) -> str:
    """MD5 of the content of a file, after gunzipping it if `gzipped`."""
    digest = hashlib.md5()
    with (gzip.open if gzipped else open)(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_valid(path: Path, md5: str) -> bool:
    """True if `path` is a file whose (decompressed) content has MD5 `md5`."""
    try:
        return path.is_file() and content_md5(path, gzipped=path.suffix == ".gz") == md5
    except (OSError, EOFError, ValueError, zlib.error):
        return False


def _explain(exc: Exception, timeout: float) -> str:
    """A short, readable reason for a failed download."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, TimeoutError) and "in all" in str(exc):
        return str(exc)
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot connect ({exc.reason})"
    if isinstance(exc, (gzip.BadGzipFile, EOFError, zlib.error)):
        return f"not a valid gzip file ({exc})"
    return f"{type(exc).__name__}: {exc}"


def _fetch(url: str, target: Path, timeout: float) -> None:
    """Stream `url` into the file `target`: each read within `timeout`, the whole file within
    TOTAL_SECONDS_PER_TIMEOUT timeouts and MAX_FILE_BYTES (a mirror that drips or never
    stops is cut off).

    Raises:
        TimeoutError, ValueError: the mirror was too slow in all, or sent too much.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "numpy-cnn-kit/1.0"})
    allowed = timeout * TOTAL_SECONDS_PER_TIMEOUT
    deadline, written = time.monotonic() + allowed, 0
    with urllib.request.urlopen(request, timeout=timeout) as response, open(target, "wb") as out:
        while chunk := response.read1(_CHUNK):   # what one read brings: the deadline holds
            written += len(chunk)
            if written > MAX_FILE_BYTES:
                raise ValueError(f"sent more than {MAX_FILE_BYTES >> 20} MB (the largest MNIST "
                                 "file is 9.9 MB gzipped)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"took longer than {allowed:g} s in all")
            out.write(chunk)


def _try_mirror(url: str, final: Path, md5: str, timeout: float) -> str | None:
    """Download `url` to a temporary file, and move it to `final` once it verified.

    Returns:
        None on success, else why the mirror was rejected. Nothing partial is
        left behind, even on Ctrl-C.
    """
    handle, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    os.close(handle)
    temporary = Path(name)
    try:
        _fetch(url, temporary, timeout)
        got = content_md5(temporary, gzipped=True)
        if got != md5:
            return f"checksum mismatch (content md5 {got}, expected {md5})"
        os.replace(temporary, final)
        return None
    except (OSError, ValueError, EOFError, zlib.error, http.client.HTTPException) as exc:
        return _explain(exc, timeout)  # any failure of this mirror: try the next one
    finally:
        temporary.unlink(missing_ok=True)  # already gone after os.replace


def download_file(
    name: str, *, dest: Path = FULL_DIR, mirrors: Iterable[str] = MIRRORS,
    timeout: float = TIMEOUT, log: Callable[[str], None] = print,
) -> Path:
    """Make sure the folder `dest` (which must exist) holds a valid copy of one file.

    Args:
        name: a key of FILE_MD5, e.g. "t10k-labels-idx1-ubyte".
        dest, mirrors, timeout, log: as for `download_mnist`.

    Returns:
        `dest/<name>.gz`, or `dest/<name>` if a valid uncompressed copy was there.

    Raises:
        ValueError: unknown name.
        DownloadError: every mirror failed; says what each one did.
    """
    if name not in FILE_MD5:
        raise ValueError(f"unknown MNIST file {name!r}; expected one of {sorted(FILE_MD5)}")
    md5, final = FILE_MD5[name], Path(dest) / f"{name}.gz"
    for present in (final, Path(dest) / name):
        if is_valid(present, md5):
            log(f"{present.name}: already present and valid, skipped")
            return present
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + final.name
        log(f"{final.name}: downloading {url}")
        reason = _try_mirror(url, final, md5, timeout)
        if reason is None:
            log(f"{final.name}: verified")
            return final
        log(f"{final.name}: rejected, {reason}")
        failures.append(f"{url}: {reason}")
    reasons = "\n  ".join(failures) or "(no mirrors given)"
    raise DownloadError(f"could not download {final.name}; every mirror failed:\n  {reasons}")


def download_mnist(
    *, dest: str | os.PathLike = FULL_DIR, mirrors: Iterable[str] = MIRRORS,
    timeout: float = TIMEOUT, names: Iterable[str] = tuple(FILE_MD5),
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Download every MNIST file that is not already valid in `dest`.

    Args:
        dest: destination folder, created if needed; `data/mnist` by default,
            where `find_mnist` looks.
        mirrors: base URLs, tried in order for each file.
        timeout: seconds allowed for connecting and for each read.
        names: which files (keys of FILE_MD5); all four by default.
        log: called with one line of progress at a time.

    Returns:
        The paths of the valid files, in the order of `names`.

    Raises:
        ValueError: unknown name, no mirrors, or a timeout that is not positive.
        DownloadError: some file could not be downloaded; the others are tried first.
    """
    mirrors, names = list(mirrors), list(names)
    if not mirrors:
        raise ValueError("no mirrors given; pass at least one base URL")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    unknown = [name for name in names if name not in FILE_MD5]
    if unknown:
        raise ValueError(f"unknown MNIST files {unknown}; expected names from {sorted(FILE_MD5)}")
    Path(dest).mkdir(parents=True, exist_ok=True)
    paths, errors = [], []
    for name in names:
        try:
            paths.append(download_file(name, dest=dest, mirrors=mirrors, timeout=timeout, log=log))
        except DownloadError as exc:
            errors.append(str(exc))
    if errors:
        raise DownloadError("\n".join(errors))
    return paths


def main(argv: list[str] | None = None) -> int:
    """`python -m dataset_utils download`; exit 1 with `Error: ...` on failure."""
    parser = argparse.ArgumentParser(prog="python -m dataset_utils",
                                     description="MNIST for the CNN assignment.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="download")
    download = commands.add_parser(
        "download", help="download the full MNIST (about 11 MB) and verify it by MD5",
        description="Download the four MNIST files and verify them by the MD5 of their content.")
    download.add_argument("--dest", type=Path, default=FULL_DIR,
                          help="folder to download into (default: data/mnist next to this file)")
    download.add_argument("--mirror", dest="mirrors", action="append", metavar="URL",
                          help="base URL to try; repeat for several; replaces the default list")
    download.add_argument("--timeout", type=float, default=TIMEOUT,
                          help="seconds per connection and read; a whole file gets "
                               f"{TOTAL_SECONDS_PER_TIMEOUT} times that (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        download_mnist(dest=args.dest, mirrors=args.mirrors or MIRRORS, timeout=args.timeout)
    except (DownloadError, ValueError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        if isinstance(exc, DownloadError):
            print("Check the internet connection, or pass --mirror URL. Without the download "
                  "the kit uses its bundled sample, data/mnist-sample.", file=sys.stderr)
        return 1
    print(f"MNIST is ready in {args.dest}; run the notebook's data cell again to use it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
