"""Reading delivered mail through Mailpit's HTTP API, and a private Mailpit a test may stop and restart.

Tests scope what they read by unique recipient addresses (`unique_address()`), so concurrent runs
against the shared Mailpit never see each other's mail.
"""

import json
import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MAILPIT_BIN = ROOT / ".local" / "tools" / "bin" / "mailpit"


def api_url() -> str:
    return os.environ.get("MAILPIT_API_URL", "http://127.0.0.1:58025").rstrip("/")


def unique_address(tag: str = "u") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@mintdrop.test"


class MailpitApi:
    def __init__(self, base: str | None = None) -> None:
        self.base = (base or api_url()).rstrip("/")

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            return json.loads(response.read())

    def search(self, query: str) -> list[dict[str, Any]]:
        """Message summaries matching a Mailpit search (e.g. `to:"a@b"`), newest first."""
        doc = self._get("/api/v1/search?" + urllib.parse.urlencode({"query": query, "limit": 200}))
        return list(doc.get("messages") or [])

    def to(self, address: str) -> list[dict[str, Any]]:
        return self.search(f'to:"{address}"')

    def message(self, message_id: str) -> dict[str, Any]:
        """The full message: Text, HTML, From, To, Subject, MessageID, ..."""
        return dict(self._get(f"/api/v1/message/{message_id}"))

    def headers(self, message_id: str) -> dict[str, list[str]]:
        return dict(self._get(f"/api/v1/message/{message_id}/headers"))

    def raw(self, message_id: str) -> str:
        with urllib.request.urlopen(f"{self.base}/api/v1/message/{message_id}/raw", timeout=10) as response:
            return str(response.read().decode("utf-8", "replace"))

    def wait_for(self, address: str, *, count: int = 1, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Poll until `address` has at least `count` messages (a bound, not a timing assertion)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(address)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateMailpit:
    """A Mailpit of this test only (own ports, own database file): safe to stop and start again."""

    def __init__(self, workdir: Path) -> None:
        self.smtp_port, self.http_port = free_port(), free_port()
        self.db = workdir / "mailpit.db"
        self.log = workdir / "mailpit.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.api = MailpitApi(f"http://127.0.0.1:{self.http_port}")

    def start(self) -> "PrivateMailpit":
        assert MAILPIT_BIN.exists(), "mailpit not installed: ops/install mailpit"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(MAILPIT_BIN),
                    "--smtp",
                    f"127.0.0.1:{self.smtp_port}",
                    "--listen",
                    f"127.0.0.1:{self.http_port}",
                    "--database",
                    str(self.db),
                    "--smtp-auth-accept-any",
                    "--smtp-auth-allow-insecure",
                    "--disable-version-check",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=1):
                    pass
                self.api.search("x")
                return self
            except OSError:
                assert self.proc.poll() is None, self.log.read_text()
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"private mailpit did not start: {self.log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
        self.proc = None
