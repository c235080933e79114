"""The machine a run measured: platform, cores, load, library versions and BLAS.

The BLAS kernel in use is asked from the loaded OpenBLAS itself (through
threadpoolctl when it is installed, else its ``*_get_corename`` symbol by
ctypes), because ``OPENBLAS_CORETYPE`` can make it differ from the build's.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import platform
import sys

BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _version(module_name: str) -> str | None:
    try:
        return importlib.import_module(module_name).__version__
    except Exception:  # noqa: BLE001 - a missing or broken baseline is reported, not fatal
        return None


def numpy_build_blas() -> dict:
    """The BLAS numpy was built against, from ``numpy.show_config(mode="dicts")``."""
    import numpy as np
    try:
        config = np.show_config(mode="dicts") or {}
    except TypeError:  # numpy < 1.26 has no mode argument
        return {}
    blas = config.get("Build Dependencies", {}).get("blas", {})
    return {key: blas.get(key) for key in ("name", "version", "openblas configuration") if key in blas}


def _loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries mapped into this process (Linux), numpy's first."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as handle:
            paths = {line.split()[-1] for line in handle if "openblas" in line.lower()}
    except OSError:
        return []
    return sorted((p for p in paths if p.startswith("/")), key=lambda p: "numpy" not in p)


def _call(library, names: tuple[str, ...], restype):
    for name in names:
        function = getattr(library, name, None)
        if function is not None:
            function.restype = restype
            return function()
    return None


def _openblas_by_ctypes() -> dict:
    import numpy  # noqa: F401 - loads numpy's OpenBLAS, so it is in the maps
    for path in _loaded_openblas():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        prefixes = ("scipy_openblas_", "openblas_")
        suffixes = ("64_", "_64_", "")
        def names(stem, prefixes=prefixes, suffixes=suffixes):
            return tuple(p + stem + s for p in prefixes for s in suffixes)
        corename = _call(library, names("get_corename"), ctypes.c_char_p)
        if corename is None:
            continue
        threads = _call(library, names("get_num_threads"), ctypes.c_int)
        return {"source": "ctypes", "library": os.path.basename(path),
                "corename": corename.decode(), "num_threads": threads}
    return {}


def openblas_runtime() -> dict:
    """The running OpenBLAS: kernel (corename) and thread count; ``{}`` if not found."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return _openblas_by_ctypes()
    import numpy  # noqa: F401
    for info in threadpool_info():
        if info.get("internal_api") == "openblas":
            return {"source": "threadpoolctl", "library": os.path.basename(info.get("filepath", "")),
                    "corename": info.get("architecture"), "num_threads": info.get("num_threads")}
    return _openblas_by_ctypes()


def blas_threads() -> int:
    """Threads numpy's BLAS uses (the CPU count when it cannot be asked)."""
    threads = openblas_runtime().get("num_threads")
    return int(threads) if threads else (os.cpu_count() or 1)


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def describe() -> dict:
    """Everything about the machine worth keeping next to the numbers."""
    return {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "torch": _version("torch"),
        "blas_build": numpy_build_blas(),
        "blas_runtime": openblas_runtime(),
        "blas_env": {name: os.environ.get(name) for name in BLAS_ENV},
        "load_average_start": load_average(),
    }


def torch_runtime() -> dict | None:
    """PyTorch's threads and CPU backends, if the run imported it (never imported here)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    return {"threads": torch.get_num_threads(), "mkl": torch.backends.mkl.is_available(),
            "mkldnn": torch.backends.mkldnn.is_available(),
            "cpu_capability": getattr(torch.backends.cpu, "get_cpu_capability", lambda: None)()}


def summary_lines(machine: dict) -> list[str]:
    """A few lines for the top of the printed table."""
    build, runtime = machine.get("blas_build", {}), machine.get("blas_runtime", {})
    env = ", ".join(f"{k}={v}" for k, v in machine.get("blas_env", {}).items() if v) or "none set"
    lines = [
        f"machine: {machine['platform']}, {machine['cpu']}, {machine['cpu_count']} CPUs, "
        f"load {machine.get('load_average_start')} at start, {machine.get('load_average_end')} at end",
        f"python {machine['python']}, numpy {machine['numpy']}, scipy {machine['scipy']}, "
        f"torch {machine['torch']}",
        f"BLAS: {build.get('name')} {build.get('version')}, kernel {runtime.get('corename')} "
        f"({runtime.get('source')}), {runtime.get('num_threads')} threads; BLAS env: {env}",
    ]
    torch = machine.get("torch_runtime")
    if torch:
        lines.append(f"torch: {torch['threads']} threads, MKL {torch['mkl']}, oneDNN {torch['mkldnn']}, "
                     f"CPU capability {torch['cpu_capability']}")
    return lines
