"""``make release``, the student kit without solutions: imports core, client, notebooks, references.

    build         the kit's folder and zip: stub notebook, core/ and client/, data, vectors
    leaks         the leak check every build runs
    vectors       the test vectors written from the references
    readme        the kit's README from student_readme.md: offline, or for a server
    gradescope_package  the Gradescope autograder zip: setup.sh, run_autograder and the grading
                        kit (its run_autograder runs grader.classgrade.gradescope_run)
"""

from grader.release.build import build_student_kit, write_zip
from grader.release.leaks import find_leaks

__all__ = ["build_student_kit", "find_leaks", "write_zip"]
