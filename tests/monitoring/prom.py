"""A test-only Prometheus: started on a free port, scraping this test process every second.

It loads the repository's alert rules with every `for:` shortened to a few seconds (the only change:
expressions and thresholds are the real ones), so a test can make a condition real and then read
Prometheus's own `/api/v1/alerts`.
"""

import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from monitoring.promconfig import RULES_DIR, build

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
TEST_FOR = "2s"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestPrometheus:
    __test__ = False  # not a test class

    def __init__(self, *, target_port: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mintdrop-prom-"))
        self.port = free_port()
        rules = self.dir / "rules.yml"
        text = "\n".join(p.read_text() for p in sorted(RULES_DIR.glob("*.yml")))
        rules.write_text(re.sub(r"(?m)^(\s+for:\s*)\S+", rf"\g<1>{TEST_FOR}", text))
        config = build(
            targets={"test": target_port},
            rule_files=[str(rules)],
            # A scrape runs DB and Kafka queries: on a loaded 2-core box give it time.
            scrape_interval="5s",
            scrape_timeout="5s",
            evaluation_interval="1s",
        )
        (self.dir / "prometheus.yml").write_text(json.dumps(config))
        self.log = open(self.dir / "prometheus.log", "wb")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    # --- HTTP API ----------------------------------------------------------------------------
    def get(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=3):
                return True
        except OSError:
            return False

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get("/api/v1/query", query=expr)["data"]["result"]
        return result

    def alerts(self, name: str) -> list[dict[str, Any]]:
        """Prometheus's own view of alert `name` (pending or firing), from /api/v1/alerts."""
        alerts = self.get("/api/v1/alerts")["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == name]

    def firing(self, name: str, **labels: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.alerts(name)
            if a["state"] == "firing" and all(a["labels"].get(k) == v for k, v in labels.items())
        ]

    def scraped_up(self) -> bool:
        return any(r["value"][1] == "1" for r in self.query('up{job="mintdrop"}'))

    # --- life cycle ----------------------------------------------------------------------------
    def wait(self, predicate: Any, *, timeout: float = 180.0, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"prometheus exited: {(self.dir / 'prometheus.log').read_text()[-2000:]}"
                )
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                targets = self.get("/api/v1/targets")["data"]["activeTargets"]
                health = [(t["health"], t["lastError"]) for t in targets]
                raise AssertionError(f"timed out waiting for {what} (scrape targets: {health})")
            time.sleep(0.5)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
