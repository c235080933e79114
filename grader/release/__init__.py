"""``make release``, the student kit without solutions: imports core, client, notebooks, references.

    build         the kit's folder and zip: stub notebook, core/ and client/, data, vectors
    leaks         the leak check every build runs
    vectors       the test vectors written from the references
    student_readme.md   the kit's README
"""

from grader.release.build import build_student_kit, write_zip
from grader.release.leaks import find_leaks

__all__ = ["build_student_kit", "find_leaks", "write_zip"]
