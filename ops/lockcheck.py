"""Offline checks of the two lock files (run by `ops/lock --check`, so by `make lint`).

- requirements.lock: every package is pinned (`==`) with at least one sha256 hash (so `uv pip sync
  --require-hashes` can install it), and every requirement of pyproject.toml (with the dev extra) is
  pinned to a version it accepts.
- ops/node/package-lock.json: every package has an sha512 `integrity` and no `resolved` registry URL,
  and package.json pins exact versions that match the lock's root entry (what `npm ci` checks).

Whether the lock is exactly what uv would resolve today needs the package index; `ops/lock --check`
does that part after this one.
"""

import json
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s\\;]+)")
EXACT = re.compile(r"^\d+\.\d+\.\d+([-+.][0-9A-Za-z.-]+)?$")


def python_lock_problems(lock_text: str, pyproject: dict) -> list[str]:
    """Unpinned, unhashed or unsatisfied requirements in a `uv pip compile --generate-hashes` output."""
    problems: list[str] = []
    pins: dict[str, str] = {}
    hashes: dict[str, int] = {}
    current = ""
    for raw in lock_text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--hash="):
            if current and line.startswith("--hash=sha256:"):
                hashes[current] = hashes.get(current, 0) + 1
            continue
        match = PIN.match(line)
        if match is None:
            problems.append(f"requirements.lock: not an exact pin: {line!r}")
            current = ""
            continue
        current = canonicalize_name(match.group(1))
        pins[current] = match.group(3)
    for name in pins:
        if not hashes.get(name):
            problems.append(f"requirements.lock: {name} has no --hash (regenerate with `make lock`)")
    project = pyproject["project"]
    wanted = list(project["dependencies"]) + list(project.get("optional-dependencies", {}).get("dev", []))
    for spec in wanted:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"requirements.lock: {req.name} (pyproject.toml) is not pinned; run `make lock`")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(
                f"requirements.lock: {req.name}=={pins[name]} does not satisfy {spec!r}; run `make lock`"
            )
    return problems


def npm_lock_problems(package: dict, lock: dict) -> list[str]:
    """Loose versions, missing integrity hashes or registry URLs in ops/node's npm files."""
    problems: list[str] = []
    deps: dict[str, str] = package.get("dependencies", {})
    for name, version in deps.items():
        if not EXACT.match(version):
            problems.append(f"ops/node/package.json: {name} is not pinned to an exact version ({version!r})")
    packages: dict[str, dict] = lock.get("packages", {})
    if packages.get("", {}).get("dependencies", {}) != deps:
        problems.append("ops/node/package-lock.json does not match package.json (run npm install there)")
    for path, entry in packages.items():
        if not path or entry.get("link"):
            continue
        if not str(entry.get("integrity", "")).startswith("sha512-"):
            problems.append(f"ops/node/package-lock.json: {path} has no sha512 integrity")
        if "resolved" in entry:
            problems.append(f"ops/node/package-lock.json: {path} names a registry URL (`resolved`)")
    return problems


def main() -> int:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    problems = python_lock_problems((ROOT / "requirements.lock").read_text(), pyproject)
    node = ROOT / "ops" / "node"
    problems += npm_lock_problems(
        json.loads((node / "package.json").read_text()), json.loads((node / "package-lock.json").read_text())
    )
    for problem in problems:
        print(f"mintdrop: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
