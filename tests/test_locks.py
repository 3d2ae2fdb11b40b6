"""The lock files: hashed pins that match pyproject.toml, npm integrity hashes, and `ops/lock --check`."""

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from ops.lockcheck import npm_lock_problems, python_lock_problems

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
MINI_PROJECT = {"project": {"dependencies": ["Django>=5.2,<5.3"], "optional-dependencies": {"dev": []}}}
HASH = "    --hash=sha256:" + "a" * 64


def test_the_committed_locks_pass_the_offline_checks() -> None:
    assert python_lock_problems((REPO / "requirements.lock").read_text(), PYPROJECT) == []
    node = REPO / "ops" / "node"
    package = json.loads((node / "package.json").read_text())
    lock = json.loads((node / "package-lock.json").read_text())
    assert npm_lock_problems(package, lock) == []


def test_a_pin_without_hash_an_unpinned_or_an_unsatisfied_requirement_is_reported() -> None:
    assert python_lock_problems(f"django==5.2.19 \\\n{HASH}\n", MINI_PROJECT) == []
    assert any("no --hash" in p for p in python_lock_problems("django==5.2.19\n", MINI_PROJECT))
    assert any("not an exact pin" in p for p in python_lock_problems(f"django>=5 \\\n{HASH}\n", MINI_PROJECT))
    problems = python_lock_problems(f"django==5.1.0 \\\n{HASH}\n", MINI_PROJECT)
    assert any("does not satisfy" in p for p in problems)
    assert any("is not pinned" in p for p in python_lock_problems(f"six==1.17.0 \\\n{HASH}\n", MINI_PROJECT))


def test_npm_packages_need_exact_versions_and_integrity_without_registry_urls() -> None:
    package = {"dependencies": {"htmx.org": "2.0.11"}}
    entry = {"version": "2.0.11", "integrity": "sha512-abc"}
    lock = {"packages": {"": {"dependencies": {"htmx.org": "2.0.11"}}, "node_modules/htmx.org": entry}}
    assert npm_lock_problems(package, lock) == []
    assert any(
        "exact version" in p for p in npm_lock_problems({"dependencies": {"htmx.org": "^2.0.11"}}, lock)
    )
    no_integrity = json.loads(json.dumps(lock))
    del no_integrity["packages"]["node_modules/htmx.org"]["integrity"]
    assert any("integrity" in p for p in npm_lock_problems(package, no_integrity))
    with_url = json.loads(json.dumps(lock))
    with_url["packages"]["node_modules/htmx.org"]["resolved"] = "https://example.test/htmx.tgz"
    assert any("registry URL" in p for p in npm_lock_problems(package, with_url))


def _checkout(tmp_path: Path) -> Path:
    """The files `ops/lock --check` reads, in a scratch copy we may break."""
    (tmp_path / "ops" / "node").mkdir(parents=True)
    for name in ["ops/lock", "ops/lockcheck.py", "pyproject.toml", "requirements.lock"]:
        shutil.copy2(REPO / name, tmp_path / name)
    for name in ["package.json", "package-lock.json"]:
        shutil.copy2(REPO / "ops" / "node" / name, tmp_path / "ops" / "node" / name)
    (tmp_path / ".venv").symlink_to((REPO / ".venv").resolve())
    return tmp_path


def _check(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(root / "ops" / "lock"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


@pytest.mark.integration
def test_lock_check_passes_on_the_repo_and_fails_when_pyproject_changes(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    ok = _check(root)
    assert ok.returncode == 0, ok.stderr
    pyproject = root / "pyproject.toml"
    # Dropping a dependency leaves every pin valid (the offline part passes) but the lock stale.
    pyproject.write_text(pyproject.read_text().replace('  "pycountry>=24",\n', ""))
    stale = _check(root)
    assert stale.returncode == 1
    assert "does not match pyproject.toml" in stale.stderr
    assert "-pycountry==" in stale.stderr
    # And the lock is left as it was: the check resolves into a temporary copy.
    assert (root / "requirements.lock").read_bytes() == (REPO / "requirements.lock").read_bytes()


@pytest.mark.integration
def test_lock_check_fails_loudly_when_the_index_is_unreachable(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    unreachable = {
        "UV_INDEX_URL": "http://127.0.0.1:9/simple",
        "UV_DEFAULT_INDEX": "http://127.0.0.1:9/simple",
    }
    result = _check(root, UV_NO_CACHE="1", UV_OFFLINE="0", **unreachable)
    assert result.returncode == 1
    assert "cannot verify requirements.lock" in result.stderr
    offline = _check(root, LOCK_CHECK_OFFLINE="1", UV_NO_CACHE="1", **unreachable)
    assert offline.returncode == 0, offline.stderr
    assert "NOT compared" in offline.stderr
