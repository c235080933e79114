"""Run the chosen sections and collect their rows: the library behind ``python -m bench``."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench import checks, conv_matrix, dask_grading, grading, layers, machine, report, server, training
from bench import similarity as similarity_section
from bench.rows import Row
from bench.settings import Settings

SECTIONS = {
    "conv_matrix": conv_matrix.run,
    "layers": layers.run,
    "training": training.run,
    "checks": checks.run,
    "grading": grading.run,
    "server": server.run,
    "dask": dask_grading.run,
    "similarity": similarity_section.run,
}
DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


@dataclass(frozen=True)
class BenchRun:
    """The rows measured and the ``results.json`` document made of them."""

    rows: tuple[Row, ...]
    data: dict

    def text(self, out: Path | None = None) -> str:
        """What ``python -m bench`` prints: machine, table, skips, summary."""
        lines = machine.summary_lines(self.data["machine"])
        loads = self.data["machine"].get("load_1min_after_section", {})
        cpus = self.data["machine"].get("cpu_count") or 1
        busy = [name for name, load in loads.items() if load is not None and load > cpus]
        if loads:
            lines.append("load (1 min) after each section: "
                         + ", ".join(f"{name} {load}" for name, load in loads.items()))
        if busy:
            lines.append(f"warning: load above {cpus} CPUs during {', '.join(busy)}; PyTorch's "
                         "threads suffer most from sharing the cores, so its ratios vary most")
        lines += ["", report.table(list(self.rows)), ""]
        lines += [f"skipped {s['section']} {s['name']}: {s['reason']}" for s in self.data["skipped"]]
        where = f"; written to {out}" if out is not None else ""
        lines.append(f"{self.data['summary']}. {self.data['seconds']:.0f} s in all{where}")
        return "\n".join(lines)


def parse_sections(text: str | None) -> list[str]:
    """``"conv_matrix,layers"`` -> ``["conv_matrix", "layers"]``, in the table's order.

    Raises:
        ValueError: naming an unknown section and listing the known ones.
    """
    if not text:
        return list(SECTIONS)
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown or not wanted:
        raise ValueError(f"unknown section(s) {unknown or [text]}: choose from {', '.join(SECTIONS)}")
    return [name for name in SECTIONS if name in wanted]


def run_bench(*, sections: list[str] | None = None, quick: bool = False,
              out: Path | None = DEFAULT_OUT, log=sys.stderr) -> BenchRun:
    """Measure ``sections`` (default: all) and write ``out`` (None: don't).

    Progress goes to ``log`` as it happens; the table is ``BenchRun.text()``.

    Returns:
        A :class:`BenchRun`.
    """
    start = time.perf_counter()
    described = machine.describe()
    settings = Settings.for_mode(quick=quick, threads=machine.blas_threads(), log=log)
    rows, loads, errors = [], {}, []
    for name in sections or list(SECTIONS):
        settings.say(f"{name} ...")
        section_start = time.perf_counter()
        try:
            section_rows = SECTIONS[name](settings)
        except Exception as error:  # noqa: BLE001 - one broken section must not stop the others
            settings.skip(name, "section", f"{type(error).__name__}: {error}")
            errors.append(name)
            section_rows = []
        loads[name] = (machine.load_average() or [None])[0]
        rows += [replace(row, extra={**row.extra, "load_1min_after_section": loads[name]})
                 for row in section_rows]
        settings.say(f"{name}: {time.perf_counter() - section_start:.1f} s, load {loads[name]}")
    described["load_average_end"] = machine.load_average()
    described["torch_runtime"] = machine.torch_runtime()
    described["load_1min_after_section"] = loads
    data = report.document(
        machine=described, rows=rows, skipped=settings.skipped,
        seconds=time.perf_counter() - start,
        settings={"quick": quick, "sections": sections or list(SECTIONS),
                  "repeats": settings.repeats, "min_sample_seconds": settings.min_sample,
                  "threads": settings.threads, "statistic": "median"})
    data["failed_sections"] = errors
    if out is not None:
        report.write_json(out, data)
    return BenchRun(tuple(rows), data)
