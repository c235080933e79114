"""Tests for images/: documented, loadable, and reproducible by their scripts."""

import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "images"
README = IMAGES / "README.md"
DRAW_SCRIPT = ROOT / "scripts" / "draw_pooling.py"
DRAWN = ["max_pool_forward.png", "max_pool_backward.png", "same_padding.png"]
PHOTO = "photo_gray.png"
MAX_BYTES = {PHOTO: 300_000}  # every other image: 150 kB
HEADING = re.compile(r"^## `([^`/]+\.png)`\s*$", re.MULTILINE)


def documented_images():
    """File names given as `## `name.png`` headings in images/README.md."""
    return HEADING.findall(README.read_text(encoding="utf-8"))


def pinned_matplotlib():
    """Version of matplotlib pinned in requirements.txt, or None."""
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    match = re.search(r"^matplotlib==(\S+)", text, re.MULTILINE)
    return match.group(1) if match else None


def test_readme_lists_the_expected_images():
    listed = documented_images()
    assert len(listed) == len(set(listed)), f"listed twice: {listed}"
    assert set(DRAWN) | {PHOTO} <= set(listed)


def test_every_png_in_the_folder_is_documented():
    on_disk = {path.name for path in IMAGES.glob("*.png")}
    undocumented = on_disk - set(documented_images())
    assert not undocumented, f"add a section to images/README.md for {sorted(undocumented)}"


@pytest.mark.parametrize("name", documented_images())
def test_image_exists_loads_and_is_small(name):
    path = IMAGES / name
    assert path.is_file(), f"{path} is listed in images/README.md but missing"
    size = path.stat().st_size
    limit = MAX_BYTES.get(name, 150_000)
    assert size < limit, f"{name}: {size} bytes, want < {limit}"
    pixels = plt.imread(path)
    assert pixels.ndim in (2, 3), f"{name}: shape {pixels.shape}"
    if pixels.ndim == 3:
        assert pixels.shape[2] in (3, 4), f"{name}: shape {pixels.shape}, want 3 or 4 channels"
    height, width = pixels.shape[:2]
    assert 64 <= height <= 1200 and 64 <= width <= 1600, f"{name}: {width}x{height} pixels"
    assert float(pixels.min()) < float(pixels.max()), f"{name}: the image is blank"


def test_photo_is_grayscale_and_at_most_512_pixels():
    pixels = plt.imread(IMAGES / PHOTO)
    assert pixels.ndim == 2, f"want (h, w) grayscale, got shape {pixels.shape}"
    assert max(pixels.shape) <= 512
    assert pixels.dtype == np.float32 and 0.0 <= pixels.min() and pixels.max() <= 1.0


def test_photo_matches_its_source(tmp_path):
    pytest.importorskip("skimage", reason="prepare_photo.py needs scikit-image")
    from scripts import prepare_photo

    out = tmp_path / PHOTO
    assert prepare_photo.main(["--out", str(out)]) == 0
    np.testing.assert_array_equal(plt.imread(out), plt.imread(IMAGES / PHOTO))


@pytest.mark.skipif(matplotlib.__version__ != pinned_matplotlib(),
                    reason=f"matplotlib {matplotlib.__version__} is not the pinned "
                           f"{pinned_matplotlib()}; text rendering differs across versions")
def test_draw_pooling_reproduces_committed_pngs(tmp_path):
    result = subprocess.run([sys.executable, str(DRAW_SCRIPT), "--out", str(tmp_path)],
                            capture_output=True, text=True, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    written = sorted(path.name for path in tmp_path.glob("*.png"))
    assert written == sorted(DRAWN)
    for name in written:
        fresh, committed = (tmp_path / name).read_bytes(), (IMAGES / name).read_bytes()
        assert fresh == committed, f"{name} differs: run python scripts/draw_pooling.py"


def test_draw_pooling_refuses_a_file_as_out_folder(tmp_path):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    result = subprocess.run([sys.executable, str(DRAW_SCRIPT), "--out", str(not_a_folder)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ")


@pytest.mark.parametrize("x_input, want_pooled, want_max_at", [
    ([[1, 3], [4, 2]], [[4]], [(1, 0)]),
    ([[5, 5], [1, 5]], [[5]], [(0, 0)]),  # ties: first cell in row-major order
    ([[1, 3, 2, 8], [4, 2, 0, 1], [6, 5, 2, 3], [1, 2, 0, 7]], [[4, 8], [6, 7]],
     [(0, 3), (1, 0), (2, 0), (3, 3)]),
])
def test_max_pool_2x2_helper(x_input, want_pooled, want_max_at):
    from scripts.draw_pooling import max_pool_2x2

    pooled, is_max = max_pool_2x2(np.array(x_input))
    np.testing.assert_array_equal(pooled, want_pooled)
    assert [tuple(int(i) for i in cell) for cell in np.argwhere(is_max)] == want_max_at


def test_max_pool_2x2_rejects_odd_sides():
    from scripts.draw_pooling import max_pool_2x2

    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        max_pool_2x2(np.zeros((3, 4)))
