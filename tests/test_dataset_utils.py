"""Tests for dataset_utils: loading MNIST IDX files, finding them, the sample."""

import gzip
import hashlib
import re
import struct
from pathlib import Path

import numpy as np
import pytest

import dataset_utils
from scripts import build_mnist_sample

REPO_DIR = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO_DIR.parent / "shared" / "data" / "mnist"
needs_full_mnist = pytest.mark.skipif(
    not SHARED_MNIST.is_dir(),
    reason=f"full MNIST not found at {SHARED_MNIST} (../shared/data/mnist)",
)
SPLIT_NAMES = {
    "training": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "testing": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx_bytes(array, magic=None):
    """Encode a uint8 array as an IDX file (independently of the code under test)."""
    array = np.asarray(array, dtype=np.uint8)
    magic = magic if magic is not None else (2051 if array.ndim == 3 else 2049)
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_split(directory, images, labels, *, prefix="t10k", gz=False, sep="-"):
    """Write an image file and a label file into `directory`; return their paths."""
    paths = []
    for kind, n_dims, array in (("images", 3, images), ("labels", 1, labels)):
        data = array if isinstance(array, bytes) else idx_bytes(array)
        path = Path(directory) / f"{prefix}-{kind}{sep}idx{n_dims}-ubyte{'.gz' if gz else ''}"
        path.write_bytes(gzip.compress(data) if gz else data)
        paths.append(path)
    return paths


def tiny_split(n=10, seed=0):
    """Random uint8 images (n, 28, 28) and labels (n,)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def copy_sample(directory, *, gz, sep="-"):
    """Copy the bundled sample into `directory`, raw or gzipped, with either spelling."""
    for dataset in ("training", "testing"):
        images, labels = dataset_utils.load_mnist_arrays(dataset, dataset_utils.SAMPLE_DIR)
        prefix = "train" if dataset == "training" else "t10k"
        write_split(directory, images, labels, prefix=prefix, gz=gz, sep=sep)


# --- the bundled sample ------------------------------------------------------

@pytest.mark.parametrize("dataset, want_n", [("training", 2000), ("testing", 1984)])
def test_sample_loads_with_documented_shapes(dataset, want_n):
    images, labels = dataset_utils.load_mnist_arrays(dataset, dataset_utils.SAMPLE_DIR)
    assert images.shape == (want_n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (want_n,) and labels.dtype == np.uint8
    assert set(np.unique(labels)) == {3, 8}
    assert images.max() == 255 and images.flags.writeable


@pytest.mark.parametrize("dataset", ["training", "testing"])
def test_generator_agrees_with_arrays(dataset):
    images, labels = dataset_utils.load_mnist_arrays(dataset, dataset_utils.SAMPLE_DIR)
    pairs = list(dataset_utils.load_mnist(dataset, dataset_utils.SAMPLE_DIR))
    assert len(pairs) == len(labels)
    assert all(type(label) is int for label, _ in pairs)
    assert [label for label, _ in pairs] == labels.tolist()
    assert np.array_equal(np.stack([image for _, image in pairs]), images)


def test_default_search_uses_sample_when_nothing_else(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(dataset_utils, "FULL_DIR", tmp_path / "absent")
    assert dataset_utils.find_mnist() == (dataset_utils.SAMPLE_DIR, "sample")
    assert dataset_utils.describe_source() == (
        "Using the bundled MNIST sample from data/mnist-sample (2000 training, 1984 test images)"
    )
    first_label, first_image = next(dataset_utils.load_mnist("training", path=None))
    assert first_label in (3, 8) and first_image.shape == (28, 28)


def test_sample_readme_lists_the_right_checksums():
    readme = (dataset_utils.SAMPLE_DIR / "README.md").read_text()
    files = sorted(dataset_utils.SAMPLE_DIR.glob("*.gz"))
    assert len(files) == 4 and sum(f.stat().st_size for f in files) < 1_000_000
    for path in files:
        data = path.read_bytes()
        assert data[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # mtime 0, OS 255
        row = f"| {path.name} | {len(data)} | {hashlib.md5(data).hexdigest()} |"
        assert row in readme
    assert "CC BY-SA 3.0" in readme and build_mnist_sample.COMMAND in readme


# --- file formats ------------------------------------------------------------

@pytest.mark.parametrize("gz, sep", [(False, "-"), (True, "-"), (False, "."), (True, ".")],
                         ids=["raw", "gz", "raw-dotted", "gz-dotted"])
def test_raw_and_gzipped_files_load_the_same(tmp_path, gz, sep):
    copy_sample(tmp_path, gz=gz, sep=sep)
    for dataset in ("training", "testing"):
        want = dataset_utils.load_mnist_arrays(dataset, dataset_utils.SAMPLE_DIR)
        got = dataset_utils.load_mnist_arrays(dataset, tmp_path)
        assert all(np.array_equal(g, w) for g, w in zip(got, want))
    assert dataset_utils.find_mnist(tmp_path) == (tmp_path, "sample")


# Each row: how to break the files, then a pattern the message must contain.
TINY_IMAGES, TINY_LABELS = tiny_split()
BAD_FILES = [
    ("truncated images", idx_bytes(TINY_IMAGES)[:1000], idx_bytes(TINY_LABELS),
     "images", r"expected 7856 bytes of image data, found 1000"),
    ("truncated labels", idx_bytes(TINY_IMAGES), idx_bytes(TINY_LABELS)[:12],
     "labels", r"expected 18 bytes of label data, found 12"),
    ("too long images", idx_bytes(TINY_IMAGES) + b"\0", idx_bytes(TINY_LABELS),
     "images", r"expected 7856 bytes of image data, found 7857"),
    ("header cut", idx_bytes(TINY_IMAGES)[:7], idx_bytes(TINY_LABELS),
     "images", r"only 7 bytes, too short for the 16-byte header"),
    ("labels as images", idx_bytes(TINY_LABELS), idx_bytes(TINY_LABELS),
     "images", r"magic number is 2049, expected 2051"),
    ("images as labels", idx_bytes(TINY_IMAGES), idx_bytes(TINY_IMAGES),
     "labels", r"magic number is 2051, expected 2049"),
    ("gzip without .gz", gzip.compress(idx_bytes(TINY_IMAGES)), idx_bytes(TINY_LABELS),
     "images", r"It looks gzipped"),
    ("count mismatch", idx_bytes(TINY_IMAGES), idx_bytes(TINY_LABELS[:9]),
     "images", r"holds 10 images but .* holds 9 labels"),
]


@pytest.mark.parametrize("case, image_data, label_data, named, want", BAD_FILES,
                         ids=[row[0] for row in BAD_FILES])
def test_bad_files_raise_value_error_naming_the_file(tmp_path, case, image_data, label_data,
                                                      named, want):
    image_path, label_path = write_split(tmp_path, image_data, label_data)
    with pytest.raises(ValueError, match=want) as info:
        dataset_utils.load_mnist_arrays("testing", tmp_path)
    assert str(image_path if named == "images" else label_path) in str(info.value)


@pytest.mark.parametrize("damage", [lambda d: d[:len(d) // 2], lambda d: d[:10] + b"x" * 40],
                         ids=["cut", "garbled"])
def test_damaged_gzip_raises_value_error(tmp_path, damage):
    image_path, _ = write_split(tmp_path, *tiny_split(), gz=True)
    image_path.write_bytes(damage(image_path.read_bytes()))
    with pytest.raises(ValueError, match=r"not a valid gzip file") as info:
        dataset_utils.load_mnist_arrays("testing", tmp_path)
    assert str(image_path) in str(info.value)


def test_missing_files_list_every_path_and_say_how_to_get_data(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        dataset_utils.load_mnist_arrays("training", tmp_path)
    message = str(info.value)
    for kind, n_dims in (("images", 3), ("labels", 1)):
        for sep in ("-", "."):
            for ext in ("", ".gz"):
                assert str(tmp_path / f"train-{kind}{sep}idx{n_dims}-ubyte{ext}") in message
    assert "python -m dataset_utils download" in message and "MNIST_DIR" in message


@pytest.mark.parametrize("dataset", ["train", "test", "Training", "", None, 0])
def test_unknown_dataset_raises_at_call(dataset):
    for loader in (dataset_utils.load_mnist, dataset_utils.load_mnist_arrays):
        with pytest.raises(ValueError, match=re.escape(repr(dataset))):
            loader(dataset, dataset_utils.SAMPLE_DIR)


def test_dataset_names_compared_by_value_not_identity():
    built = "".join(["test", "ing"])  # equal to "testing", but a different object
    images, _ = dataset_utils.load_mnist_arrays(built, dataset_utils.SAMPLE_DIR)
    assert len(images) == 1984


# --- where the data comes from -----------------------------------------------

@pytest.fixture
def folders(tmp_path, monkeypatch):
    """Three complete little MNIST folders, `data/mnist` pointed at one of them."""
    made = {}
    for name in ("explicit", "env", "full_dir"):
        made[name] = tmp_path / name
        made[name].mkdir()
        for prefix in ("train", "t10k"):
            write_split(made[name], *tiny_split(), prefix=prefix)
    monkeypatch.setattr(dataset_utils, "FULL_DIR", made["full_dir"])
    monkeypatch.delenv("MNIST_DIR", raising=False)
    return made


# Each row: pass an explicit path?, set MNIST_DIR ("" = set but empty)?, keep data/mnist
# complete?, and which folder must win.
PRECEDENCE = [
    (True, True, True, "explicit"),
    (False, True, True, "env"),
    (False, "", True, "full_dir"),
    (False, None, True, "full_dir"),
    (False, None, False, "sample"),
]


@pytest.mark.parametrize("explicit, env, full_complete, want", PRECEDENCE)
def test_find_mnist_precedence(folders, monkeypatch, explicit, env, full_complete, want):
    if env is not None:
        monkeypatch.setenv("MNIST_DIR", str(folders["env"]) if env else "")
    if not full_complete:
        (folders["full_dir"] / "t10k-labels-idx1-ubyte").unlink()
    directory, kind = dataset_utils.find_mnist(folders["explicit"] if explicit else None)
    assert directory == (dataset_utils.SAMPLE_DIR if want == "sample" else folders[want])
    assert kind == "sample"


def test_find_mnist_lists_both_places_when_nothing_is_found(folders, monkeypatch, tmp_path):
    monkeypatch.setattr(dataset_utils, "FULL_DIR", tmp_path / "no-full")
    monkeypatch.setattr(dataset_utils, "SAMPLE_DIR", tmp_path / "no-sample")
    with pytest.raises(FileNotFoundError) as info:
        dataset_utils.find_mnist()
    for folder in ("no-full", "no-sample"):
        assert str(tmp_path / folder / "t10k-images-idx3-ubyte.gz") in str(info.value)


def test_explicit_folder_without_files_is_an_error(folders, tmp_path):
    with pytest.raises(FileNotFoundError, match="path=None"):
        dataset_utils.find_mnist(tmp_path / "nowhere")


# --- binary_digits -------------------------------------------------------------

# Each row: labels, n_max, digits (None: the default, 3 and 8), wanted targets.
BINARY = [
    ([3, 8, 2, 8, 7, 3], None, None, [-1, 1, 1, -1]),
    ([3, 8, 2, 8, 7, 3], 3, None, [-1, 1, 1]),
    ([3, 8, 2, 8, 7, 3], 0, None, []),
    ([5, 9], None, None, []),
    ([0, 1, 2, 1, 7, 0], None, (0, 1), [-1, 1, 1, -1]),
    ([0, 1, 2, 1, 7, 0], None, (1, 0), [1, -1, -1, 1]),
    ([4, 9, 9, 3, 4], 2, (4, 9), [-1, 1]),
]


@pytest.mark.parametrize("label_list, n_max, digits, want", BINARY)
def test_binary_digits(label_list, n_max, digits, want):
    labels = np.array(label_list, dtype=np.uint8)
    images = np.arange(len(labels) * 784, dtype=np.int64).reshape(-1, 28, 28).astype(np.uint8)
    chosen = {} if digits is None else {"digits": digits}
    x, y = dataset_utils.binary_digits(images, labels, n_max, **chosen)
    keep = np.flatnonzero(np.isin(labels, digits or (3, 8)))[: len(want)]
    assert x.shape == (len(want), 1, 28, 28) and x.dtype == np.float64
    assert y.tolist() == want and y.shape == (len(want),)
    assert np.array_equal(x[:, 0] * 255, images[keep].astype(np.float64))
    assert x.size == 0 or (x.min() >= 0 and x.max() <= 1)


@pytest.mark.parametrize("images_shape, labels_shape, n_max, digits, error, want", [
    ((4, 28, 28), (3,), None, (3, 8), ValueError, r"\(4, 28, 28\) and \(3,\)"),
    ((4, 784), (4,), None, (3, 8), ValueError, r"expected images \(n, 28, 28\)"),
    ((4, 28, 28), (4,), -1, (3, 8), ValueError, r"n_max must be >= 0, got -1"),
    ((4, 28, 28), (4,), 2.5, (3, 8), TypeError, r"n_max must be an int or None, got 2.5"),
    ((4, 28, 28), (4,), None, (3, 3), ValueError, r"two different labels 0..9, .* got \(3, 3\)"),
    ((4, 28, 28), (4,), None, (3, 10), ValueError, r"got \(3, 10\)"),
    ((4, 28, 28), (4,), None, (1, 2, 3), ValueError, r"got \(1, 2, 3\)"),
    ((4, 28, 28), (4,), None, ("3", "8"), ValueError, r"got \('3', '8'\)"),
    ((4, 28, 28), (4,), None, (True, 8), ValueError, r"got \(True, 8\)"),
])
def test_binary_digits_rejects_bad_input(images_shape, labels_shape, n_max, digits, error, want):
    with pytest.raises(error, match=want):
        dataset_utils.binary_digits(np.zeros(images_shape, np.uint8),
                                    np.zeros(labels_shape, np.uint8), n_max, digits)


# --- the full data and the reproducible sample -----------------------------------

FULL_MD5 = [  # MD5 of the decompressed files, from ../shared/data/mnist/README.md
    ("training", 60000, "6bbc9ace898e44ae57da46a324031adb", "a25bea736e30d166cdddb491f175f624"),
    ("testing", 10000, "2646ac647ad5339dbf082846283269ea", "27ae3e4e09519cfbb04c329615203637"),
]


@needs_full_mnist
@pytest.mark.parametrize("dataset, want_n, images_md5, labels_md5", FULL_MD5)
def test_full_data_loads_and_matches_published_md5(dataset, want_n, images_md5, labels_md5):
    images, labels = dataset_utils.load_mnist_arrays(dataset, SHARED_MNIST)
    assert images.shape == (want_n, 28, 28) and labels.shape == (want_n,)
    assert set(np.unique(labels)) == set(range(10))
    for array, magic, want in ((images, 2051, images_md5), (labels, 2049, labels_md5)):
        assert hashlib.md5(idx_bytes(array, magic)).hexdigest() == want
    assert dataset_utils.find_mnist(SHARED_MNIST) == (SHARED_MNIST, "full")
    assert dataset_utils.describe_source(SHARED_MNIST).startswith("Using the full MNIST data set")


def test_sample_builder_keeps_to_the_size_budget(tmp_path):
    files = build_mnist_sample.build_sample(source=dataset_utils.SAMPLE_DIR, dest=tmp_path,
                                            n_train=10, size_budget=50_000)
    assert sum(len(data) for name, data in files.items() if name.endswith(".gz")) <= 50_000
    train_images, train_labels = dataset_utils.load_mnist_arrays("training", tmp_path)
    test_images, test_labels = dataset_utils.load_mnist_arrays("testing", tmp_path)
    assert train_images.shape == (10, 28, 28) and 0 < len(test_labels) < 1984
    sample_images, _ = dataset_utils.load_mnist_arrays("testing", dataset_utils.SAMPLE_DIR)
    assert np.array_equal(test_images, sample_images[: len(test_labels)])
    assert f"the first {len(test_labels)} of the 1984 images" in files["README.md"].decode()


@needs_full_mnist
def test_sample_build_is_byte_for_byte_reproducible(tmp_path):
    written = build_mnist_sample.build_sample(source=SHARED_MNIST, dest=tmp_path)
    committed = sorted(p.name for p in dataset_utils.SAMPLE_DIR.iterdir())
    assert sorted(written) == committed == sorted(p.name for p in tmp_path.iterdir())
    for name in committed:
        assert (tmp_path / name).read_bytes() == (dataset_utils.SAMPLE_DIR / name).read_bytes(), (
            f"{name} differs from the committed sample; rebuild it with "
            f"`{build_mnist_sample.COMMAND}` (a different zlib can also change .gz bytes)"
        )
