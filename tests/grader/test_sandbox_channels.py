"""The supervisor's ends of the link to a submission's child (sandbox/inside/channels.py),
in this process: what the child hands over is read through a description of the
supervisor's own, never blocking, whatever the child does with its copy."""

import os
import socket

import pytest

from grader.classgrade.sandbox.inside import channels


@pytest.fixture
def link():
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    ours.setblocking(False)
    yield ours, theirs
    ours.close()
    theirs.close()


def test_a_handed_read_end_never_blocks_whatever_the_sender_sets_on_its_copy(link):
    ours, theirs = link
    read_end, write_end = os.pipe()
    socket.send_fds(theirs, [b"\x01"], [read_end])
    said, handed = channels.said_by(ours, os.getpid())
    assert said == b"\x01" and handed is not None
    os.set_blocking(read_end, True)          # the sender's copy: a description of its own
    assert not os.get_blocking(handed)
    with pytest.raises(BlockingIOError):
        os.read(handed, 1)
    os.write(write_end, b"ok")
    assert os.read(handed, 2) == b"ok"
    channels.close([handed, read_end, write_end])


def test_a_handed_write_end_is_read_from_its_pipe(link):
    ours, theirs = link
    read_end, write_end = os.pipe()
    socket.send_fds(theirs, [b"\x02"], [write_end])
    said, handed = channels.said_by(ours, os.getpid())
    assert said == b"\x02"
    os.write(write_end, b"records")
    assert os.read(handed, 16) == b"records"
    channels.close([handed, read_end, write_end])


@pytest.mark.parametrize("what", ["a socket", "a file", "nothing"])
def test_anything_but_a_pipe_is_not_taken(link, tmp_path, what):
    ours, theirs = link
    other = {"a socket": lambda: socket.socket().detach(),
             "a file": lambda: os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT),
             "nothing": lambda: None}[what]()
    if other is None:
        theirs.send(b"\x03")
    else:
        socket.send_fds(theirs, [b"\x03"], [other])
    assert channels.said_by(ours, os.getpid()) == (b"\x03", None)
    channels.close([other])


def test_words_of_another_process_are_not_the_childs(link):
    ours, theirs = link
    read_end, write_end = os.pipe()
    socket.send_fds(theirs, [b"\x01"], [read_end])
    assert channels.said_by(ours, os.getpid() + 1) == (None, None)
    assert channels.said_by(ours, os.getpid()) == (None, None)   # nothing waiting: no block
    channels.close([read_end, write_end])
