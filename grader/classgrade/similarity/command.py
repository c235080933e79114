"""``python -m grader similarity``: the command line over :func:`run.similarity_report`.

Its flags take their defaults from the library, so the two cannot disagree.
"""

from __future__ import annotations

from pathlib import Path

from grader.client import paths

SHOW_DEFAULT = " (default: %(default)s)"


def cmd_similarity(args) -> int:
    from grader.classgrade.similarity.run import similarity_report
    run = similarity_report(submissions_dir=args.submissions, out_dir=args.out, lms=args.lms,
                            roster_path=args.roster, archives=args.archive or (),
                            save_archive=args.save_archive, label=args.label,
                            threshold=args.threshold)
    for line in run.problems:
        print(f"not compared: {line}")
    flagged = run.flagged
    for pair in flagged[:20]:
        print(f"{pair.function:20} {pair.student_a:24} {pair.student_b:24} {pair.similarity:.2f}")
    if len(flagged) > 20:
        print(f"... and {len(flagged) - 20} more")
    archived = f" and {run.n_archived} archived student(s)" if run.n_archived else ""
    print(f"\nCompared {len(run.students)} submission(s){archived} in {run.seconds:.1f} s: "
          f"{len(flagged)} pair(s) at or above similarity {run.threshold:g} (similar code, "
          f"to be read by a person; not a verdict).")
    pages = f", a page per flagged pair: {Path(args.out) / 'similarity'}/<function>/" if flagged else ""
    print(f"Pairs: {Path(args.out) / 'similarity' / 'pairs.csv'}{pages}"
          + (f", archive: {args.save_archive}" if args.save_archive else ""))
    return 0


def _threshold(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError(f"--threshold takes a similarity between 0 and 1, got {text}")
    return value


def add_command(sub, command) -> None:
    """Add ``similarity`` to the subcommands ``sub`` (``command`` makes one, as in cli.py)."""
    from grader.classgrade.lms_downloads import LMSES
    from grader.classgrade.similarity.run import similarity_report
    library = similarity_report.__kwdefaults__
    parser = command(sub, "similarity", cmd_similarity,
                     "find similar code between students, per graded function, offline")
    parser.add_argument("submissions", nargs="?",
                        default=str(paths.KIT_ROOT / "examples" / "submissions"),
                        help="the same layouts as grade" + SHOW_DEFAULT)
    parser.add_argument("--out", default=str(paths.KIT_ROOT / "grading"), metavar="FOLDER",
                        help="writes FOLDER/similarity/pairs.csv and a page per flagged pair"
                        + SHOW_DEFAULT)
    parser.add_argument("--lms", choices=LMSES, default=library["lms"],
                        help="SUBMISSIONS is this LMS's unzipped download, as for grade "
                        "(default: none)")
    parser.add_argument("--roster", default=library["roster_path"], metavar="CSV",
                        help="students.csv, for --lms (default: SUBMISSIONS/students.csv)")
    parser.add_argument("--archive", action="append", metavar="PATH",
                        help="an earlier class to compare with: its submissions folder (its "
                        "name labels it) or a file written by --save-archive (repeatable) (default: none)")
    parser.add_argument("--save-archive", default=library["save_archive"], metavar="FILE",
                        help="keep this class's fingerprints (no code) in FILE for later years "
                        "(default: none)")
    parser.add_argument("--label", default=library["label"],
                        help="this class's label in --save-archive's file (default: this year)")
    parser.add_argument("--threshold", type=_threshold, default=library["threshold"],
                        metavar="S", help="flag pairs at or above this similarity, 0..1"
                        + SHOW_DEFAULT)
