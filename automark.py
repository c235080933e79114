"""``import automark as am``: the AutoMark calls the notebook uses.

    am.test_student_function(username, conv_matrix, ["matrix", "kernel"])
    am.get_progress(username)
    am.Config.host = "http://HOST:1234/"    # check against an AutoMark server, as the course's client did
"""

from grader.client.automark_api import Config, get_progress, test_student_function

__all__ = ["Config", "get_progress", "test_student_function"]
