"""config.faults.crash_point: fires only when armed AND fault injection is enabled by the test settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from config.faults import CRASH_AT_ENV, CRASH_EXIT_CODE, armed

ROOT = Path(__file__).resolve().parents[1]
CODE = (
    "import django; django.setup()\n"
    "from config.faults import crash_point\n"
    "crash_point('demo.point')\n"
    "print('survived')\n"
)


def run_child(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "MINTDROP_FAULT_INJECTION"}
    return subprocess.run(
        [sys.executable, "-c", CODE],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_armed_point_kills_the_process_under_test_settings() -> None:
    done = run_child(**{CRASH_AT_ENV: "other.point,demo.point", "MINTDROP_FAULT_INJECTION": "1"})
    assert done.returncode == CRASH_EXIT_CODE, done.stderr
    assert "survived" not in done.stdout


@pytest.mark.parametrize("flag", [None, "0", "false"])
def test_arming_is_ignored_outside_test_settings(flag: str | None) -> None:
    env = {CRASH_AT_ENV: "demo.point"}
    if flag is not None:
        env["MINTDROP_FAULT_INJECTION"] = flag
    done = run_child(**env)
    assert done.returncode == 0, done.stderr
    assert "survived" in done.stdout


def test_an_unarmed_or_other_point_does_not_fire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CRASH_AT_ENV, "nft.after_sign")
    assert armed("nft.after_sign")
    assert not armed("nft.after_send")
    with override_settings(FAULT_INJECTION_ENABLED=False):
        assert not armed("nft.after_sign")
