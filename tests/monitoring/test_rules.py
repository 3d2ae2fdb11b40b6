"""The alert rules are valid, and every alert has a `promtool test rules` case that passes."""

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "ops/prometheus/rules").glob("*.yml"))
TESTS = sorted((ROOT / "ops/prometheus/tests").glob("*.yml"))


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: `ops/install prometheus` installs it (Debian's prometheus package)"
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120, check=False)


def test_rule_files_are_valid() -> None:
    assert RULES
    result = run("check", "rules", *map(str, RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_tests_pass() -> None:
    assert TESTS
    result = run("test", "rules", *map(str, TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_promtool_case_that_fires_it() -> None:
    alerts = {r["alert"] for f in RULES for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"]}
    expected_to_fire = {
        check["alertname"]
        for f in TESTS
        for case in yaml.safe_load(f.read_text())["tests"]
        for check in case.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    assert alerts - expected_to_fire == set()


def test_a_broken_threshold_fails_the_promtool_cases(tmp_path: Path) -> None:
    """The cases can fail: the same tests against rules whose outbox threshold was raised tenfold."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    for rules in RULES:
        metric = "mintdrop_outbox_oldest_unpublished_age_seconds"
        text = rules.read_text().replace(f"{metric} > 60\n", f"{metric} > 600\n")
        (tmp_path / "rules" / rules.name).write_text(text)
    for case in TESTS:
        shutil.copy(case, tmp_path / "tests" / case.name)
    result = run("test", "rules", *(str(tmp_path / "tests" / c.name) for c in TESTS))
    assert result.returncode != 0
    assert "OutboxStale" in result.stdout + result.stderr
