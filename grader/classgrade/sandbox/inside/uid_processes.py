"""Runs INSIDE the sandbox: end every process of a submission's uid, without forking.

Used by the supervisor after each child and by the zygote after each submission,
both root inside the sandbox, and by the submission's child between functions, to
wait until the others of its uid are gone. It is the second line: what ends a
submission's processes for certain is the end of its PID namespace
(``isolation.py``); between the functions of one submission, this scan. Each pid of ``/proc`` (the sandbox's
own PID namespace in bubblewrap) is opened as a pidfd first and its owner read
after, so a pid reused in between is never signalled by mistake. Rounds go on
until no living process of the uid is left: a process forked during a round is
found in the next, and the uid's process limit bounds how many there can be.
"""

import os
import signal


def _owner(pid):
    """``(uid, state letter, threads)`` of ``pid``, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
        return (int(fields["Uid"].split()[0]), fields["State"].strip()[:1],
                int(fields.get("Threads", "1").strip() or 1))
    except (OSError, KeyError, ValueError, IndexError):
        return None


def _alive(owner, pid):
    """A process is alive unless every thread of it has ended: a leader that left with the
    raw ``exit`` call shows as a zombie while its other threads still run."""
    if owner[1] not in ("Z", "X"):
        return True
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/stat", encoding="ascii",
                      errors="replace") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                    return True
        except (OSError, IndexError):
            continue
    return False


def living_processes_of(uid):
    """Pids of ``uid``'s processes that have not ended (zombies aside, but not a zombie
    leader whose threads live on)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            owner = _owner(int(name))
            if owner is not None and owner[0] == uid and _alive(owner, int(name)):
                found.append(int(name))
    return found


def _kill(pid, uid):
    try:
        handle = os.pidfd_open(pid)
    except OSError:
        return  # gone already
    try:
        owner = _owner(pid)
        if owner is not None and owner[0] == uid:
            signal.pidfd_send_signal(handle, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(handle)


def reap():
    """Collect every child of this process that has ended (orphans come to the zygote)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_all_of(uid, rounds=200):
    """SIGKILL every process of ``uid`` until none is left alive; True if none is.

    The dead are left to their parents to collect (the supervisor waits for its task's
    child itself; orphans come to the zygote, which calls :func:`reap`).
    """
    for _ in range(rounds):
        found = living_processes_of(uid)
        if not found:
            return True
        for pid in found:
            _kill(pid, uid)
    return not living_processes_of(uid)
