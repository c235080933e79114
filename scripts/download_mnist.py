"""Download the four MNIST files into data/mnist (used by `make data`).

Each file is fetched as `<name>.gz` from the first mirror that serves it
correctly. A file counts as correct when the MD5 of its *decompressed*
content matches the published value, so both the original .gz files and
re-compressed copies pass. Downloads go to a temporary file in the destination
folder, which replaces the final name only after it verified; nothing partial
is left behind, even on Ctrl-C. Files already present and valid are skipped.

Usage, from the repository root:
    python -m scripts.download_mnist [--dest data/mnist] [--mirror URL ...] [--timeout S]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Callable, Iterable

REPO_DIR = Path(__file__).resolve().parents[1]
DEFAULT_DEST = REPO_DIR / "data" / "mnist"
TIMEOUT = 30.0  # seconds, for connecting and for each read
CHUNK_SIZE = 1 << 16

# MD5 of the decompressed IDX files (the well-known originals).
FILES = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# For reference: MD5 of the original .gz files as the mirrors publish them.
ORIGINAL_GZ_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# Tried in this order; each serves <mirror><name>.gz.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://raw.githubusercontent.com/fgnt/mnist/master/",
    "http://yann.lecun.com/exdb/mnist/",
)


class DownloadError(Exception):
    """No mirror delivered a valid copy of a file."""


def content_md5(path: Path, *, gzipped: bool) -> str:
    """MD5 of the content of a file, after gunzipping it if `gzipped`."""
    digest = hashlib.md5()
    with (gzip.open if gzipped else open)(path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def is_valid(path: Path, md5: str) -> bool:
    """True if `path` exists and its decompressed content has MD5 `md5`."""
    try:
        return path.is_file() and content_md5(path, gzipped=path.suffix == ".gz") == md5
    except (OSError, EOFError, ValueError):
        return False


def _explain(exc: Exception, timeout: float) -> str:
    """A short, readable reason for a failed download."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot connect ({exc.reason})"
    if isinstance(exc, (gzip.BadGzipFile, EOFError, zlib.error)):
        return f"not a valid gzip file ({exc})"
    return f"{type(exc).__name__}: {exc}"


def _fetch(url: str, target: Path, timeout: float) -> None:
    """Stream `url` into the file `target`."""
    request = urllib.request.Request(url, headers={"User-Agent": "numpy-cnn-kit/1.0"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        with open(target, "wb") as out:
            while chunk := response.read(CHUNK_SIZE):
                out.write(chunk)


def _try_mirror(url: str, final: Path, md5: str, timeout: float) -> str | None:
    """Download `url` and move it to `final` if it verifies.

    Returns:
        None on success, else the reason the mirror was rejected.
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
    except Exception as exc:  # any failure means: try the next mirror
        return _explain(exc, timeout)
    finally:
        temporary.unlink(missing_ok=True)  # already gone after os.replace


def download_file(
    name: str, *, dest: Path = DEFAULT_DEST, mirrors: Iterable[str] = MIRRORS,
    timeout: float = TIMEOUT, log: Callable[[str], None] = print,
) -> Path:
    """Make sure `dest` holds a valid copy of one MNIST file.

    Args:
        name: a key of FILES, e.g. "t10k-labels-idx1-ubyte".
        dest: destination folder (must exist).
        mirrors: base URLs, tried in order.
        timeout: seconds allowed for connecting and for each read.
        log: called with one line of progress at a time.

    Returns:
        The path of the valid file (`dest/<name>.gz`, or `dest/<name>` if a
        valid uncompressed copy was already there).

    Raises:
        ValueError: unknown name.
        DownloadError: every mirror failed; says what each one did.
    """
    if name not in FILES:
        raise ValueError(f"unknown MNIST file {name!r}; expected one of {sorted(FILES)}")
    md5, final = FILES[name], Path(dest) / f"{name}.gz"
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
    *, dest: Path = DEFAULT_DEST, mirrors: Iterable[str] = MIRRORS,
    timeout: float = TIMEOUT, names: Iterable[str] = tuple(FILES),
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Download every MNIST file that is not already valid in `dest`.

    Args:
        dest: destination folder, created if needed.
        mirrors: base URLs, tried in order for each file.
        timeout: seconds allowed for connecting and for each read.
        names: which files (keys of FILES); all four by default.
        log: called with one line of progress at a time.

    Returns:
        The paths of the valid files, in the order of `names`.

    Raises:
        ValueError: unknown name, no mirrors, or a timeout that is not positive.
        DownloadError: some file could not be downloaded; tries the others first.
    """
    mirrors, names = list(mirrors), list(names)
    if not mirrors:
        raise ValueError("no mirrors given; pass at least one base URL")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    unknown = [name for name in names if name not in FILES]
    if unknown:
        raise ValueError(f"unknown MNIST files {unknown}; expected names from {sorted(FILES)}")
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
    """Command line for `make data`; exit 1 with `Error: ...` on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST,
                        help="folder to download into (default: %(default)s)")
    parser.add_argument("--mirror", dest="mirrors", action="append", metavar="URL",
                        help="base URL to try; repeat for several; replaces the default list")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help="seconds per connection and read (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        download_mnist(dest=args.dest, mirrors=args.mirrors or MIRRORS, timeout=args.timeout)
    except (DownloadError, ValueError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        if isinstance(exc, DownloadError):
            print("Check the internet connection, or pass --mirror URL. Without the "
                  "download the kit uses its bundled sample, data/mnist-sample.", file=sys.stderr)
        return 1
    print(f"MNIST is ready in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
