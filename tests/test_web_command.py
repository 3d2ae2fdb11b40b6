"""The Procfile's `web` line and config/web_command.py (what benches and test stacks start) agree."""

import re
import shlex
from pathlib import Path

from config.web_command import web_command

ROOT = Path(__file__).resolve().parents[1]


def _procfile_web_argv() -> list[str]:
    """The Procfile's web command with every `${VAR:-default}` at its default, from granian on."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    expanded = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", line.removeprefix("web:"))
    argv = shlex.split(expanded)
    return argv[next(i for i, a in enumerate(argv) if a.endswith("/granian")) :]


def _flags(argv: list[str]) -> dict[str, str]:
    return {argv[i]: argv[i + 1] for i in range(1, len(argv) - 1) if argv[i].startswith("--")}


def test_the_procfile_runs_the_flags_web_command_builds() -> None:
    procfile = _procfile_web_argv()
    built = web_command(port=8000)
    assert _flags(procfile) == _flags(built)
    assert procfile[-1] == built[-1] == "config.wsgi:application"


def test_extra_flags_go_before_the_application() -> None:
    argv = web_command(port=9, workers=1, threads=3, extra=("--no-ws",))
    assert argv[-2:] == ["--no-ws", "config.wsgi:application"]
    assert _flags(argv)["--workers"] == "1" and _flags(argv)["--blocking-threads"] == "3"
    assert _flags(argv)["--backpressure"] == "4096"
