"""The kit's client against a hostile server, second round: redirects to other schemes and to
addresses the resolver cannot take, inputs of a valid form but of a size no AutoMark task
draws, and refusals that would replace the local verdict with the server's words."""

import datetime
import http.server
import json
import socket
import ssl
import threading
import time

import numpy as np
import pytest
from conftest import SHARED

from grader.client import automark_api, bounded_get, input_bounds, local_record, messages, replies
from grader.core.tasks import TASKS, get_task
from grader.server import cases

DEADLINE_SECONDS = 1.0
LOCAL_PASSED = ["Running local tests...", "relu_forward successfully passed local tests",
                "Running remote test..."]
WAITS = "The hidden check waits for the server: "


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers each endpoint with ``server.replies[endpoint]``: ``(status, headers, body)``."""

    def do_GET(self):
        endpoint = self.path.strip("/").split("/")[0]
        status, headers, body = self.server.replies.get(endpoint, (404, {}, b"{}"))
        self.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serving(server) -> str:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def hostile(monkeypatch):
    """A plain-HTTP server whose replies each test sets; the kit's client points at it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.replies = {"check_answer": (200, {}, b'{"success": true}')}
    server.address = serving(server)
    monkeypatch.setattr(automark_api.Config, "host", f"http://{server.address}/")
    monkeypatch.setattr(automark_api, "SERVER_SECONDS", DEADLINE_SECONDS)
    monkeypatch.setattr(automark_api, "_window_closes", {})
    monkeypatch.setattr(local_record, "RECORD_SECONDS", 0.5)
    yield server
    server.shutdown()
    server.server_close()


def redirect(location: str):
    return (302, {"Location": location}, b"")


def relu_forward(x_input):
    return np.maximum(x_input, 0.0)


def check(capsys, function=relu_forward) -> tuple[list[str], float]:
    started = time.monotonic()
    automark_api.test_student_function("ada", function, list(get_task(function.__name__).arg_names))
    return capsys.readouterr().out.splitlines(), time.monotonic() - started


def a_relu_input() -> bytes:
    task = get_task("relu_forward")
    return json.dumps({"ipd": 7, "input": cases.encode_input(task, cases.draw_case(task, 1))}).encode()


# --- 1. redirects: only to http or https, never to FTP's unwatched socket ---------------------

@pytest.fixture
def trickling_ftp():
    """A 'FTP server' that sends its banner one byte every 0.2 s."""
    stopped = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        connection, _ = listener.accept()
        with connection:
            for byte in b"220 " + b"x" * 200:
                if stopped.wait(0.2):
                    return
                connection.sendall(bytes([byte]))
    threading.Thread(target=serve, daemon=True).start()
    yield f"ftp://127.0.0.1:{listener.getsockname()[1]}/x"
    stopped.set()
    listener.close()


def test_a_redirect_to_ftp_is_refused_within_the_deadline(hostile, trickling_ftp):
    hostile.replies["get_test_input"] = redirect(trickling_ftp)
    started = time.monotonic()
    with pytest.raises(bounded_get.NoReply, match="redirect to ftp"):
        bounded_get.get(f"http://{hostile.address}/get_test_input/ada/relu_forward",
                        seconds=DEADLINE_SECONDS)
    assert time.monotonic() - started < DEADLINE_SECONDS


@pytest.mark.parametrize("location", ["file:///etc/passwd", "data:text/plain,{}",
                                      "ftp://127.0.0.1:1/x", "gopher://127.0.0.1/x"])
def test_a_redirect_to_another_scheme_is_no_reply(hostile, location):
    hostile.replies["get_test_input"] = redirect(location)
    with pytest.raises(bounded_get.NoReply, match="redirect to"):
        bounded_get.get(f"http://{hostile.address}/get_test_input/ada/relu_forward",
                        seconds=DEADLINE_SECONDS)


@pytest.mark.parametrize("scheme", ["file", "ftp", "data"])
def test_a_direct_address_of_another_scheme_is_no_reply(tmp_path, scheme):
    page = tmp_path / "page.json"
    page.write_text('{"success": true}')
    address = {"file": page.as_uri(), "ftp": "ftp://127.0.0.1:1/x", "data": "data:,{}"}[scheme]
    with pytest.raises(bounded_get.NoReply):
        bounded_get.get(address, seconds=DEADLINE_SECONDS)


def test_a_redirect_to_ftp_waits_for_the_server(hostile, capsys, isolated_progress, trickling_ftp):
    hostile.replies["get_test_input"] = redirect(trickling_ftp)
    lines, took = check(capsys)
    assert lines[:3] == LOCAL_PASSED and lines[3].startswith(WAITS) and len(lines) == 4, lines
    assert took < 3 * DEADLINE_SECONDS


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """An HTTPS server on 127.0.0.1 with a certificate the client trusts (``SSL_CERT_FILE``)."""
    x509 = pytest.importorskip("cryptography.x509")
    import ipaddress

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(1)
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert, private = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, private)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.replies = {}
    server.address = serving(server)
    yield server
    server.shutdown()
    server.server_close()


def test_a_redirect_from_http_to_https_of_the_server_still_works(hostile, tls_server):
    tls_server.replies["get_test_input"] = (200, {}, b'{"from": "https"}')
    hostile.replies["get_test_input"] = redirect(f"https://{tls_server.address}/get_test_input/ada/x")
    assert bounded_get.get(f"http://{hostile.address}/get_test_input/ada/x",
                           seconds=5) == b'{"from": "https"}'


# --- 2. an address the resolver cannot take: never a traceback ------------------------------

@pytest.mark.parametrize("location", ["http://127.0.0.1:" + "9" * 30 + "/", "http://127.0.0.1:99999/",
                                      "http://[::1%zz]/", "http://a\x00b/"])
def test_a_redirect_to_an_impossible_address_is_no_reply(hostile, location):
    hostile.replies["get_test_input"] = redirect(location)
    with pytest.raises(bounded_get.NoReply):
        bounded_get.get(f"http://{hostile.address}/get_test_input/ada/relu_forward",
                        seconds=DEADLINE_SECONDS)


def test_a_30_digit_port_waits_for_the_server(hostile, capsys, isolated_progress):
    hostile.replies["get_test_input"] = redirect("http://127.0.0.1:" + "9" * 30 + "/")
    lines, _ = check(capsys)
    assert lines[:3] == LOCAL_PASSED and lines[3].startswith(WAITS) and len(lines) == 4, lines


@pytest.mark.parametrize("error", [OverflowError("port"), RuntimeError("?"), UnicodeError("idna"),
                                   AttributeError("x"), RecursionError()])
def test_any_error_of_the_transport_waits_for_the_server(hostile, capsys, isolated_progress,
                                                         monkeypatch, error):
    def broken(*args, **kwargs):
        raise error
    monkeypatch.setattr(bounded_get, "get", broken)
    lines, _ = check(capsys)
    assert lines[:3] == LOCAL_PASSED and lines[3].startswith(WAITS) and len(lines) == 4, lines
    assert type(error).__name__ in lines[3]


# --- 3. an input of AutoMark's form, of a size no task draws ---------------------------------

def counted(name):
    """The reference of ``name``, counting its positional calls (the hidden case's; the local
    cases call with keywords)."""
    def function(*args, **kwargs):
        function.calls += bool(args)
        return get_task(name).reference(*args, **kwargs)
    function.__name__, function.calls = name, 0
    return function


def encoded(**arguments) -> bytes:
    return json.dumps({"ipd": 7, "input": {
        name: ({"type": "ndarray", "data": value.tolist()} if isinstance(value, np.ndarray)
               else {"type": type(value).__name__, "data": value})
        for name, value in arguments.items()}}).encode()


OVERSIZED = [
    ("box_blur", "a box of 4001", encoded(image=np.ones((1, 1)), box_size=4001)),
    ("box_blur", "a box of -4001", encoded(image=np.ones((3, 3)), box_size=-4001)),
    ("box_blur", "an image of 400 x 400", encoded(image=np.ones((400, 400)), box_size=5)),
    ("conv_matrix", "a 400 x 400 matrix, a 399 x 399 kernel",
     encoded(matrix=np.ones((400, 400)), kernel=np.ones((399, 399)))),
    ("conv_matrix", "a matrix of 3 dimensions", encoded(matrix=np.ones((3, 3, 3)), kernel=np.ones((3, 3)))),
    ("conv_matrix", "a kernel of 1 x 3000", encoded(matrix=np.ones((5, 5)), kernel=np.ones((1, 3000)))),
]


@pytest.mark.parametrize("name, body", [(name, body) for name, _, body in OVERSIZED],
                         ids=[what for _, what, _ in OVERSIZED])
def test_an_input_past_the_tasks_bounds_is_not_automarks(hostile, capsys, isolated_progress, name, body):
    function = counted(name)
    hostile.replies["get_test_input"] = (200, {}, body)
    lines, _ = check(capsys, function)
    assert lines[3].startswith(WAITS) and "not AutoMark's" in lines[3] and len(lines) == 4, lines
    assert function.calls == 0          # the student's function never ran on it


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.name)
def test_every_case_the_kit_draws_is_within_the_bounds(task):
    """No false refusal: the server's hidden cases, the local and the edge cases all pass."""
    bounds = input_bounds.bounds_for(task)
    drawn = [task.hidden_case(np.random.default_rng(seed)) for seed in range(1000, 1200)]
    drawn += [task.make_inputs(np.random.default_rng(seed)) for seed in range(1000, 1200)]
    drawn += task.edge_inputs(np.random.default_rng(5))
    for case in drawn:
        for name in task.arg_names:
            value = case[name]
            for part in (value if isinstance(value, list) else [value]):
                assert input_bounds.problem(bounds[name], part) == "", (name, part)


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.name)
def test_just_past_the_bounds_is_refused(task):
    """The rule is a factor of the largest drawn: a side one longer, a scalar one further."""
    bounds = input_bounds.bounds_for(task)
    for bound in bounds.values():
        if bound.ndim:
            too_long = np.zeros((1,) * (bound.ndim - 1) + (bound.side + 1,))
            assert "longer" in input_bounds.problem(bound, too_long)
            assert "dimensions" in input_bounds.problem(bound, np.zeros((1,) * (bound.ndim + 1)))
        if bound.scalar:
            assert "beyond" in input_bounds.problem(bound, bound.scalar + 1)
            assert "beyond" in input_bounds.problem(bound, -bound.scalar - 1)


def test_the_bounds_are_a_factor_of_the_declared_generators():
    factor = input_bounds.FACTOR
    assert bounds_of("box_blur")["box_size"].scalar == factor * 13          # BOX_SIZES / _odd(13)
    assert bounds_of("conv_matrix")["kernel"].side == factor * 7            # WIDE_KERNELS


def bounds_of(name):
    return input_bounds.bounds_for(get_task(name))


def test_replies_refuse_an_input_past_the_bounds():
    with pytest.raises(replies.NotAutoMarks, match="'box_size'"):
        replies.hidden_input(encoded(image=np.ones((1, 1)), box_size=4001), get_task("box_blur"))
    ipd, case = replies.hidden_input(encoded(image=np.ones((5, 6)), box_size=5), get_task("box_blur"))
    assert ipd == 7 and case["box_size"] == 5 and case["image"].shape == (5, 6)


# --- 4. refusals: the local verdict stays, the server's words are attributed ----------------

def refusal(text: str):
    return (300, {}, json.dumps({"error": text}).encode())


@pytest.mark.parametrize("text", [messages.REMOTE_PASSED, "user 'ada' is not registered.",
                                  "assignment is closed."])
def test_a_refusal_shows_the_local_report_then_the_servers_words(hostile, capsys, isolated_progress,
                                                                 text):
    hostile.replies["get_test_input"] = refusal(text)
    lines, _ = check(capsys)
    assert lines[:3] == LOCAL_PASSED and len(lines) == 4, lines
    assert lines[3] == messages.server_refused(text)
    assert lines[3].startswith('The server refused the hidden check: "')
    assert messages.REMOTE_PASSED not in lines and messages.REMOTE_FAILED not in lines


def test_a_refusal_of_the_answer_keeps_the_local_report(hostile, capsys, isolated_progress):
    hostile.replies["get_test_input"] = (200, {}, a_relu_input())
    hostile.replies["check_answer"] = refusal(messages.REMOTE_PASSED)
    lines, _ = check(capsys)
    assert lines[:3] == LOCAL_PASSED and lines[3] == messages.server_refused(messages.REMOTE_PASSED)


@pytest.mark.parametrize("seconds, remembered", [(30, 30), (999_999_999, 3600)])
def test_a_rate_limit_window_is_remembered_for_an_hour_at_most(hostile, capsys, isolated_progress,
                                                               seconds, remembered):
    hostile.replies["get_test_input"] = refusal(f"your timeout expires in {seconds} sec.")
    lines, _ = check(capsys)
    assert lines[3] == messages.next_hidden_check(remembered)
    left = automark_api._window_closes[(automark_api.server_url(), "ada")] - time.monotonic()
    assert remembered - 5 < left <= remembered
    assert messages.MAX_WINDOW_SECONDS == 3600   # an hour: AutoMark's windows are seconds


CONFORMANCE = SHARED / "conformance"


@pytest.mark.skipif(not (CONFORMANCE / "index.json").is_file(),
                    reason="../shared/conformance is not beside the repository")
def test_every_case_the_real_automark_server_handed_out_is_within_the_bounds():
    index = json.loads((CONFORMANCE / "index.json").read_text())
    with np.load(CONFORMANCE / "automark_aml18_local_tests.npz", allow_pickle=False) as archive:
        for name, info in index.items():
            bounds = input_bounds.bounds_for(get_task(name))
            for case in range(info["cases"]):
                for arg, kind in info["args"].items():
                    value = archive[f"{name}/{case:03d}/in/{arg}"]
                    value = value if kind == "ndarray" else {"bool": bool, "int": int}.get(kind, float)(value)
                    assert input_bounds.problem(bounds[arg], value) == "", (name, case, arg)
