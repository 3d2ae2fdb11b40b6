"""The `web` process's command line (granian serving config.wsgi), built in one place.

The Procfile's `web` line runs these flags with its defaults; the benches and the test stacks that
start a web server of their own build it here, so a flag the server needs (e.g. the connection
limits below) cannot be missing from one of them. tests/test_web_command.py checks the Procfile
against it.

Connection limits: granian counts idle keep-alive connections against `--backpressure` (its
default is backlog / workers = 512 per worker), so thousands of buyers' open connections stalled
new ones for up to 10 s while the server idled (bench/README.md, #17). Concurrent requests stay
bounded by the blocking threads either way.
"""

import sys
from collections.abc import Sequence
from pathlib import Path

BACKLOG = 4096
BACKPRESSURE = 4096


def granian_binary() -> str:
    """granian beside the running interpreter (the project's virtualenv)."""
    return str(Path(sys.executable).parent / "granian")


def web_command(
    *,
    port: int,
    host: str = "127.0.0.1",
    workers: int = 2,
    threads: int = 4,
    extra: Sequence[str] = (),
) -> list[str]:
    """argv of a web server on `host:port`: `workers` processes x `threads` blocking threads each."""
    return [
        granian_binary(), "--interface", "wsgi", "--host", host, "--port", str(port),
        "--workers", str(workers), "--blocking-threads", str(threads),
        "--backlog", str(BACKLOG), "--backpressure", str(BACKPRESSURE),
        *extra, "config.wsgi:application",
    ]  # fmt: skip
