"""The chaos suite's private PostgreSQL server: crash it (immediate shutdown) and start it again.

`make chaos` starts it with `ops/start postgres` and POSTGRES_INSTANCE=postgres-chaos (data in
`.local/postgres-chaos/data`, log `.local/log/postgres-chaos.log`) on CHAOS_POSTGRES_PORT (29432),
and points DATABASE_URL at it, so the test database, every process of the stack and the checks
live on it. The shared server (55432) is refused: restarting it would break everyone's runs.
"""

import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

from tests.chaos.cluster import ROOT, ephemeral_floor

SHARED_PORT = 55432  # ops/env.sh's POSTGRES_PORT: the server every engineer on the box uses
RESTART_TIMEOUT_S = 240  # crash recovery plus start-up on a loaded box (bounded)


class PostgresError(RuntimeError):
    pass


class PrivatePostgres:
    def __init__(self) -> None:
        self.instance = os.environ.get("POSTGRES_INSTANCE", "postgres")
        url = urlparse(os.environ.get("DATABASE_URL", ""))
        self.port = url.port or 5432
        if self.instance == "postgres" or not self.instance.startswith("postgres-"):
            raise PostgresError(
                f"chaos restarts PostgreSQL only on a private instance (POSTGRES_INSTANCE=postgres-chaos), "
                f"not {self.instance!r}: use `make chaos`"
            )
        if url.hostname != "127.0.0.1" or self.port == SHARED_PORT:
            raise PostgresError(f"refusing to restart the shared PostgreSQL ({url.hostname}:{self.port})")
        if str(self.port) != os.environ.get("POSTGRES_PORT"):
            raise PostgresError(f"DATABASE_URL's port {self.port} is not POSTGRES_PORT of the private server")
        if self.port >= ephemeral_floor():
            raise PostgresError(
                f"the private PostgreSQL must listen below the ephemeral range, not {self.port}"
            )
        self.data = ROOT / ".local" / self.instance / "data"
        if not (self.data / "PG_VERSION").exists():
            raise PostgresError(f"no private PostgreSQL data directory at {self.data}: use `make chaos`")

    def postmaster_pid(self) -> int:
        pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, 0)
        return pid

    def crash(self) -> int:
        """Immediate shutdown (SIGQUIT to the postmaster, what `pg_ctl stop -m immediate` sends): every
        backend quits at once, no checkpoint; the next start runs crash recovery. Returns the pid."""
        pid = self.postmaster_pid()
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 60
        while Path(f"/proc/{pid}").exists() and not _zombie(pid):
            if time.monotonic() > deadline:
                raise PostgresError(f"postmaster {pid} still alive 60 s after SIGQUIT")
            time.sleep(0.2)
        return pid

    def start(self) -> None:
        """`ops/start postgres` for this instance (waits until it answers; bounded)."""
        env = {**os.environ, "START_TIMEOUT": str(RESTART_TIMEOUT_S)}
        out = subprocess.run(
            ["nice", "-n", "5", str(ROOT / "ops" / "start"), "postgres"], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=RESTART_TIMEOUT_S + 60,
        )  # fmt: skip
        if out.returncode != 0:
            raise PostgresError(f"ops/start postgres failed: {out.stderr.strip()[-500:]}")

    def running(self) -> bool:
        try:
            self.postmaster_pid()
        except (OSError, ValueError):
            return False
        return True


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True
