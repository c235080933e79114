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
from dataclasses import dataclass
from pathlib import Path

from grader.client import paths

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
        roster: students.csv (username,name,email) imported at start-up; "" for none.
        data: the folder of the SQLite database (created when missing).
        rate_limit_seconds: the window each check_answer opens for its user; 0 disables it.
        admin_token: the token of the staff pages (GET / and /admin/progress.csv); without
            one they are refused (default: $AUTOMARK_ADMIN_TOKEN).
        workers: server processes sharing the database.
    """

    host: str = "127.0.0.1"
    port: int = 1234
    roster: str | None = str(paths.KIT_ROOT / "examples" / "submissions" / "students.csv")
    data: str = str(paths.KIT_ROOT / "server-data")
    rate_limit_seconds: float = 30.0
    admin_token: str | None = None
    workers: int = 1

    def __post_init__(self):
        if not (isinstance(self.port, int) and 0 <= self.port <= 65535):
            raise ValueError(f"port must be an integer in 0..65535, got {self.port!r}")
        if not (math.isfinite(self.rate_limit_seconds) and self.rate_limit_seconds >= 0):
            raise ValueError(f"rate_limit_seconds must be >= 0 (0 disables the limit), "
                             f"got {self.rate_limit_seconds!r}")
        if not (isinstance(self.workers, int) and 1 <= self.workers <= 64):
            raise ValueError(f"workers must be an integer in 1..64, got {self.workers!r}")
        if self.admin_token is not None and len(self.admin_token) < MIN_TOKEN_CHARS:
            raise ValueError(f"the admin token must have at least {MIN_TOKEN_CHARS} characters")

    @property
    def database(self) -> Path:
        return Path(self.data) / DATABASE_NAME

    @property
    def token(self) -> str | None:
        """The admin token in force: the setting, else $AUTOMARK_ADMIN_TOKEN, else None."""
        return self.admin_token or os.environ.get(TOKEN_ENV) or None

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls) -> "ServerSettings":
        """The settings the parent process put in :data:`SETTINGS_ENV` (defaults without)."""
        text = os.environ.get(SETTINGS_ENV)
        return cls(**json.loads(text)) if text else cls()
