"""The staff page and progress.csv with a deadline: each student's own deadline and how many of
their attempts came after it (read from the attempts' times, never stored)."""

import csv
import io

import pytest
import requests
from server_fixtures import TOKEN, Server, start_server  # noqa: F401
from test_server_admin import answer

ROSTER = ("username,name,email,extension\n"
          "ada,Ada,,\n"
          "bob,Bob,,2999-01-01T00:00Z\n"    # an extension past any test's clock
          "cy,Cy,,\n")


@pytest.fixture(scope="module")
def late_class(tmp_path_factory):
    """A server whose deadline has passed: ada answers late twice, bob (extended) once."""
    folder = tmp_path_factory.mktemp("late-class")
    (folder / "students.csv").write_text(ROSTER, encoding="utf-8")
    server = Server(folder, ["--roster", str(folder / "students.csv"), "--rate-limit-seconds", "0",
                             "--admin-token", TOKEN, "--deadline", "2026-01-01T00:00Z",
                             "--late-policy", "penalty:10%/day,max 50%"]).start()
    answer(server, "ada", "conv_matrix")
    answer(server, "ada", "box_blur", right=False)
    answer(server, "bob", "conv_matrix")
    yield server
    server.stop()


def test_the_page_shows_the_deadline_and_each_students_late_attempts(late_class):
    page = requests.get(late_class.url, params={"token": TOKEN}, timeout=30).text
    assert "Deadline 2026-01-01 00:00 UTC" in page and "penalty:10%/day,max 50%" in page
    rows = {row.split('"')[1]: row for row in page.split("<tr data-username=")[1:]}
    assert '<td class="num late">2</td>' in rows["ada"]
    assert "2999-01-01 00:00 UTC" in rows["bob"] and '<td class="num late">0</td>' in rows["bob"]


def test_progress_csv_carries_the_deadline_columns(late_class):
    text = requests.get(late_class.url + "admin/progress.csv", params={"token": TOKEN},
                        timeout=30).text
    rows = {row["username"]: row for row in csv.DictReader(io.StringIO(text))}
    assert (rows["ada"]["deadline"], rows["ada"]["late attempts"]) == ("2026-01-01 00:00 UTC", "2")
    assert (rows["bob"]["deadline"], rows["bob"]["late attempts"]) == ("2999-01-01 00:00 UTC", "0")
    assert rows["cy"]["late attempts"] == "0"


def test_without_a_deadline_the_tables_are_as_before(start_server):
    server = start_server("--admin-token", TOKEN)
    text = requests.get(server.url + "admin/progress.csv", params={"token": TOKEN}, timeout=30).text
    assert "late attempts" not in text.splitlines()[0]
    assert "own deadline" not in requests.get(server.url, params={"token": TOKEN}, timeout=30).text


@pytest.mark.parametrize("path", ["", "admin/progress.csv", "admin/stuck.csv"])
def test_the_staff_views_are_built_off_the_event_loop(tmp_path, monkeypatch, path):
    """They read every attempt (a red team's 300,000 held check_sum for 3.9 s on the loop):
    each is built in a worker thread, on a connection of its own."""
    import asyncio

    from starlette.testclient import TestClient

    from grader.server import admin, stuck
    from grader.server.app import create_app
    from grader.server.settings import ServerSettings

    seen = []

    def spy(build):
        def wrapped(store, *args, **kwargs):
            try:
                asyncio.get_running_loop()
                seen.append("on the loop")
            except RuntimeError:
                seen.append("in a thread")
            assert store is not client.app.starlette.state.store   # a connection of its own
            return build(store, *args, **kwargs)
        return wrapped
    monkeypatch.setattr(admin, "class_view", spy(admin.class_view))
    monkeypatch.setattr(stuck, "stuck_view", spy(stuck.stuck_view))
    settings = ServerSettings(data=str(tmp_path), roster="", admin_token=TOKEN)
    with TestClient(create_app(settings)) as client:
        assert client.get("/" + path, params={"token": TOKEN}).status_code == 200
    assert seen and set(seen) == {"in a thread"}


@pytest.mark.parametrize("path, query", [
    ("/", "a&" * (3 << 20)),                     # a red team's: 3 MiB of parameters, no token
    ("/", "token=" + "%41" * (1 << 20)),         # a token of a million escapes
    ("/admin/stuck.csv", "x=" + "y" * 9000),
    ("/" + "n" * 9000, ""),                      # an unknown path, refused before the 404's parse
])
def test_a_long_request_to_a_page_is_refused_before_starlette_reads_it(tmp_path, monkeypatch,
                                                                       path, query):
    import asyncio

    from grader.server.app import AutoMarkApp, create_app
    from grader.server.settings import ServerSettings
    application = create_app(ServerSettings(data=str(tmp_path), roster="", admin_token=TOKEN))
    assert isinstance(application, AutoMarkApp)
    reached, sent = [], []

    async def starlette(scope, receive, send):
        reached.append(scope["path"])
    monkeypatch.setattr(application, "starlette", starlette)

    async def send(message):
        sent.append(message)
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": query.encode()}
    asyncio.run(application(scope, None, send))
    assert reached == [] and sent[0]["status"] == 414
    assert b"longer than any staff page" in sent[1]["body"]


def test_a_staff_page_with_a_token_is_still_served(tmp_path, monkeypatch):
    import asyncio

    from grader.server.app import create_app
    from grader.server.settings import ServerSettings
    application = create_app(ServerSettings(data=str(tmp_path), roster="", admin_token=TOKEN))
    reached = []

    async def starlette(scope, receive, send):
        reached.append(scope["path"])
    monkeypatch.setattr(application, "starlette", starlette)
    scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/",
             "query_string": f"token={TOKEN}".encode()}
    asyncio.run(application(scope, None, None))
    assert reached == ["/"]
