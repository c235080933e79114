"""Write the grayscale photograph used in the lesson's "image kernels" section.

The photograph comes from the sample data that ships inside scikit-image.
Only images whose licence scikit-image documents as CC0 or public domain are
offered (see ``SOURCES``); the default is the "camera" photograph.

This script needs scikit-image; the kit itself does not. At run time the
lesson reads the PNG written here with ``matplotlib.pyplot.imread``.

Usage:
    pip install scikit-image
    python scripts/prepare_photo.py                  # writes images/photo_gray.png
    python scripts/prepare_photo.py --image coffee --out /tmp/coffee_gray.png
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "images" / "photo_gray.png"
DEFAULT_MAX_SIDE = 512

# name in skimage.data -> licence as stated in that function's docstring.
SOURCES = {
    "camera": "CC0 by the photographer (Lav Varshney)",
    "coffee": "CC0 by the photographer (Rachel Michetti)",
    "chelsea": "CC0 by the photographer (Stefan van der Walt)",
    "astronaut": "NASA, released into the public domain",
}


def load_source(name):
    """Load one of the licence-checked sample photographs from scikit-image.

    Args:
        name: a key of ``SOURCES``, e.g. ``"camera"``.

    Returns:
        The image as stored by scikit-image: (height, width) or
        (height, width, channels), dtype uint8.

    Raises:
        ValueError: if ``name`` is not a key of ``SOURCES``.
        ImportError: if scikit-image is not installed.
    """
    if name not in SOURCES:
        raise ValueError(f"unknown image {name!r}; expected one of {sorted(SOURCES)}")
    try:
        from skimage import data
    except ImportError as exc:
        raise ImportError("prepare_photo.py needs scikit-image: pip install scikit-image") from exc
    return getattr(data, name)()


def to_gray_uint8(image, *, max_side=DEFAULT_MAX_SIDE):
    """Convert a photograph to 8-bit grayscale no larger than ``max_side``.

    Colour images are reduced to luminance with the ITU-R BT.709 weights
    (0.2125 R + 0.7154 G + 0.0721 B, as ``skimage.color.rgb2gray``); an alpha
    channel is dropped. Images larger than ``max_side`` are shrunk with
    Pillow's Lanczos filter, keeping the aspect ratio.

    Args:
        image: (height, width) or (height, width, 3 or 4), dtype uint8.
        max_side: largest allowed height or width, in pixels.

    Returns:
        (new_height, new_width) uint8 array with both sides <= ``max_side``.

    Raises:
        TypeError: if ``image`` is not uint8.
        ValueError: if ``image`` has an unexpected shape or ``max_side`` < 1.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise TypeError(f"image must be uint8, got {image.dtype}")
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    if image.ndim == 3 and image.shape[2] in (3, 4):
        weights = np.array([0.2125, 0.7154, 0.0721])
        gray = np.rint(image[..., :3].astype(np.float64) @ weights)
        image = np.clip(gray, 0, 255).astype(np.uint8)
    elif image.ndim != 2:
        raise ValueError(f"image must be (h, w) or (h, w, 3|4), got shape {image.shape}")
    height, width = image.shape
    scale = max_side / max(height, width)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
    return image


def save_gray_png(image, path):
    """Save a (height, width) uint8 array as an 8-bit grayscale PNG.

    Args:
        image: (height, width) uint8 array.
        path: destination file; its folder is created if missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, format="PNG", optimize=True)


def main(argv=None):
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="camera", choices=sorted(SOURCES),
                        help="skimage.data photograph to use (default: camera)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"PNG file to write (default: {DEFAULT_OUT.relative_to(REPO_ROOT)})")
    parser.add_argument("--max-side", type=int, default=DEFAULT_MAX_SIDE,
                        help="largest height or width in pixels (default: 512)")
    args = parser.parse_args(argv)
    try:
        gray = to_gray_uint8(load_source(args.image), max_side=args.max_side)
        save_gray_png(gray, args.out)
    except (ImportError, ValueError, TypeError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} {gray.shape[1]}x{gray.shape[0]} from skimage.data.{args.image}"
          f" ({SOURCES[args.image]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
