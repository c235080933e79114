"""``import automark as am``: the AutoMark calls the notebook uses.

    am.test_student_function(username, conv_matrix, ["matrix", "kernel"])
    am.get_progress(username)
"""

from grader.client.automark_api import get_progress, test_student_function

__all__ = ["get_progress", "test_student_function"]
