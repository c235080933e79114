"""`make data`: download the four MNIST files into data/mnist, verified by MD5.

The downloader lives in dataset_utils.py, because that file ships to students
(`python -m dataset_utils download`); this is the repository's name for it.

Usage, from the repository root:
    python -m scripts.download_mnist [--dest data/mnist] [--mirror URL ...] [--timeout S]
"""

from __future__ import annotations

import sys

import dataset_utils


def main(argv: list[str] | None = None) -> int:
    """Run `python -m dataset_utils download` with the same options."""
    return dataset_utils.main(["download", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
