"""The student kit's README: a kit built with ``--server URL`` describes the server (how checks
reach it, the hidden check, the rate limit, a server that is down) instead of the offline
progress files; a kit without one keeps the offline README."""

import re

import pytest

from grader.client import messages
from grader.release import readme
from grader.release.build import build_student_kit

SERVER = "http://automark.example.org:1234/"
MARKER = re.compile(r"<!--|-->|SERVER_URL")


@pytest.fixture(scope="module")
def kits(tmp_path_factory):
    """``{"offline": README text, "server": README text}`` of two kits built for real."""
    out = tmp_path_factory.mktemp("kits")
    build_student_kit(out / "offline")
    build_student_kit(out / "server", server=SERVER.rstrip("/"))   # the URL as typed, no slash
    return {kind: (out / kind / "README.md").read_text(encoding="utf-8") for kind in ("offline", "server")}


@pytest.mark.parametrize(("kind", "fragment", "want"), [
    ("offline", "Progress is kept in `progress/<username>.json`", True),
    ("offline", "## The course's server", False),
    ("offline", "rate limit", False),
    ("offline", SERVER, False),
    ("server", "progress/<username>.json", False),
    ("server", "## The course's server", True),
    ("server", f"at {SERVER} (the kit knows the address", True),
    ("server", "grader/client/server_url.txt", True),
    ("server", "asks the server for one\nhidden input", True),
    ("server", "the expected output never leaves the server", True),
    ("server", "rate limit", True),
    ("server", "When the server cannot be reached", True),
    ("server", "The table comes from the server, which keeps your\nprogress", True),
    ("server", "am.Config.host", True),
])
def test_each_kit_describes_where_its_checks_go(kits, kind, fragment, want):
    assert (fragment in kits[kind]) is want, (kind, fragment)


@pytest.mark.parametrize("kind", ["offline", "server"])
def test_both_keep_what_every_student_needs_and_no_marker(kits, kind):
    for shared in ["Python 3.10 to 3.13", "jupyter notebook assignment.ipynb", "## What to hand in",
                   "python -m dataset_utils download", "am.get_progress(username)"]:
        assert shared in kits[kind], shared
    assert not MARKER.search(kits[kind])


@pytest.mark.parametrize(("quoted", "printed"), [
    ("`Your next hidden check is possible in 29 s`", messages.next_hidden_check(29)),
    ("`The hidden check waits for the server: ...`", messages.hidden_check_waits_for_server("x")),
])
def test_the_server_readme_quotes_what_the_check_prints(kits, quoted, printed):
    """The README quotes the opening of the client's own words, so the two cannot drift."""
    assert quoted in kits["server"]
    assert printed.startswith(quoted.strip("`").removesuffix(" ..."))


def test_the_offline_readme_is_the_template_without_the_server_blocks():
    template = readme.TEMPLATE.read_text(encoding="utf-8")
    assert template.count("<!-- server -->") >= 2 and template.count("<!-- offline -->") >= 1
    want = re.sub(r"<!-- server -->\n.*?<!-- end -->\n", "", template, flags=re.S)
    want = re.sub(r"<!-- offline -->\n(.*?)<!-- end -->\n", r"\1", want, flags=re.S)
    assert readme.student_readme() == want


@pytest.mark.parametrize(("text", "want"), [
    ("a\n<!-- server -->\nb\n<!-- server -->\nc\n<!-- end -->\n", "line 4: <!-- server --> inside"),
    ("a\n<!-- end -->\n", "line 2: <!-- end --> closes no block"),
    ("a\n<!-- offline -->\nb\n", "the 'offline' block is never closed"),
    ("see SERVER_URL\n", "SERVER_URL outside"),
])
def test_a_broken_template_is_refused_naming_the_line(text, want):
    with pytest.raises(ValueError, match=re.escape(want)):
        readme.render(text, server=None)


@pytest.mark.parametrize(("server", "want"), [
    (None, "a\nkept offline\nz\n"),
    ("http://h:1/", "a\nonly at http://h:1/\nz\n"),
])
def test_render_keeps_one_kind_of_block(server, want):
    text = ("a\n<!-- offline -->\nkept offline\n<!-- end -->\n"
            "<!-- server -->\nonly at SERVER_URL\n<!-- end -->\nz\n")
    assert readme.render(text, server=server) == want
