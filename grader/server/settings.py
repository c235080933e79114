"""How a server runs: declared once, read by the CLI (its flags' defaults) and by every worker.

Worker processes started by uvicorn get the settings through one environment
variable (:data:`SETTINGS_ENV`, JSON), so a single process and several
workers read exactly the same values.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from grader.client import paths
from grader.core.deadlines import LatePolicy, own_deadline, parse_deadline, parse_late_policy

SETTINGS_ENV = "AUTOMARK_SERVER_SETTINGS"
TOKEN_ENV = "AUTOMARK_ADMIN_TOKEN"
DATABASE_NAME = "server.sqlite"
MIN_TOKEN_CHARS = 8


@dataclass(frozen=True)
class ServerSettings:
    """Everything ``python -m grader serve`` can set.

    Attributes:
        host: the address to listen on (loopback by default; 0.0.0.0 for a class).
        port: the TCP port (AutoMark's was 1234).
        roster: students.csv (username,name,email) imported at start-up (default: none; the
            users already in the database stay; ``make serve`` passes the example class's).
        data: the folder of the SQLite database (created when missing).
        rate_limit_seconds: the window each check_answer opens for its user; 0 disables it.
        admin_token: the token of the staff pages (GET / and /admin/progress.csv); without
            one they are refused (default: $AUTOMARK_ADMIN_TOKEN). On the command line it is
            visible to every local user (ps): prefer the environment or admin_token_file.
        admin_token_file: a file holding the admin token, readable by its owner only
            (chmod 600); read at start (default: none, the token comes from elsewhere).
        workers: server processes sharing the database.
        request_seconds: how long a client may take to send a whole request head, and
            (ten times as long) to read its response; slower ones are dropped.
        max_connections: open connections per worker; further ones are refused at once.
        deadline: the course's deadline, ISO 8601 with its UTC offset (2026-12-11T23:59+01:00);
            the roster's extension column moves it per student. Attempts after a student's own
            deadline are recorded and answered as any other, and read as late (default: none).
        late_policy: what a function completed late is worth in the grades: count, ignore, or
            penalty:10%/day,max 50% (per started day, up to the cap).
    """

    host: str = "127.0.0.1"
    port: int = 1234
    roster: str | None = None
    data: str = str(paths.KIT_ROOT / "server-data")
    rate_limit_seconds: float = 30.0
    admin_token: str | None = None
    admin_token_file: str | None = None
    workers: int = 1
    request_seconds: float = 5.0
    max_connections: int = 512
    deadline: str | None = None
    late_policy: str = str(LatePolicy())

    def __post_init__(self):
        if not (isinstance(self.port, int) and 0 <= self.port <= 65535):
            raise ValueError(f"port must be an integer in 0..65535, got {self.port!r}")
        if not (math.isfinite(self.rate_limit_seconds) and self.rate_limit_seconds >= 0):
            raise ValueError(f"rate_limit_seconds must be >= 0 (0 disables the limit), "
                             f"got {self.rate_limit_seconds!r}")
        if not (isinstance(self.workers, int) and 1 <= self.workers <= 64):
            raise ValueError(f"workers must be an integer in 1..64, got {self.workers!r}")
        if not (math.isfinite(self.request_seconds) and 0 < self.request_seconds <= 600):
            raise ValueError(f"request_seconds must be in (0, 600], got {self.request_seconds!r}")
        if not (isinstance(self.max_connections, int) and 1 <= self.max_connections <= 65536):
            raise ValueError(f"max_connections must be an integer in 1..65536, "
                             f"got {self.max_connections!r}")
        if self.admin_token is not None and self.admin_token_file:
            raise ValueError("give the admin token once: --admin-token or --admin-token-file")
        if self.admin_token is not None and len(self.admin_token) < MIN_TOKEN_CHARS:
            raise ValueError(f"the admin token must have at least {MIN_TOKEN_CHARS} characters")
        if self.admin_token_file:
            read_token_file(self.admin_token_file)
        if self.deadline:
            parse_deadline(self.deadline)
        parse_late_policy(self.late_policy)

    @property
    def deadline_at(self) -> float | None:
        """The course's deadline in Unix seconds, or None."""
        return parse_deadline(self.deadline) if self.deadline else None

    @property
    def policy(self) -> LatePolicy:
        return parse_late_policy(self.late_policy)

    def deadline_of(self, extension: str) -> float | None:
        """A student's own deadline, given their roster ``extension``."""
        return own_deadline(extension, self.deadline_at)

    @property
    def database(self) -> Path:
        return Path(self.data) / DATABASE_NAME

    @property
    def token(self) -> str | None:
        """The admin token in force: the setting, else the file's, else $AUTOMARK_ADMIN_TOKEN,
        else None."""
        if self.admin_token:
            return self.admin_token
        if self.admin_token_file:
            return read_token_file(self.admin_token_file)
        return os.environ.get(TOKEN_ENV) or None

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls) -> "ServerSettings":
        """The settings the parent process put in :data:`SETTINGS_ENV` (defaults without)."""
        text = os.environ.get(SETTINGS_ENV)
        return cls(**json.loads(text)) if text else cls()


def read_token_file(path: str) -> str:
    """The admin token in ``path`` (surrounding whitespace removed).

    Raises:
        ValueError: the file is missing, readable or writable by group or others, or holds
            a token shorter than :data:`MIN_TOKEN_CHARS`.
    """
    try:
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            text = handle.read(4096).decode("utf-8").strip()
    except FileNotFoundError:
        raise ValueError(f"the admin token file {path} does not exist: make one with "
                         f"openssl rand -hex 16 > {path} && chmod 600 {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the admin token file {path}: {error}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"the admin token file {path} has mode {stat.filemode(mode)}: other "
                         f"users can read or change it; run chmod 600 {path}")
    if len(text) < MIN_TOKEN_CHARS:
        raise ValueError(f"the admin token in {path} must have at least {MIN_TOKEN_CHARS} "
                         "characters")
    return text
