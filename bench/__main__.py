"""``python -m bench [--quick] [--only conv_matrix,layers,...] [--out PATH]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the kit's modules (Blocks, solutions, grader) live there
    sys.path.insert(0, str(ROOT))

from bench import runner  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time the kit against baselines in the same run; print ratios and save JSON.")
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats (smoke test)")
    parser.add_argument("--only", metavar="SECTIONS",
                        help=f"comma-separated sections, from: {', '.join(runner.SECTIONS)}")
    parser.add_argument("--out", type=Path, default=runner.DEFAULT_OUT,
                        help="where to write the JSON results (default: bench/results.json)")
    args = parser.parse_args(argv)
    try:
        sections = runner.parse_sections(args.only)
    except ValueError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    run = runner.run_bench(sections=sections, quick=args.quick, out=args.out)
    print(run.text(args.out))
    if run.data["failed_sections"]:
        print(f"Error: section(s) {', '.join(run.data['failed_sections'])} failed (see 'skipped')",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
