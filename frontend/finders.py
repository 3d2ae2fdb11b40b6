"""Serve a few files of npm packages (installed by `ops/install`) as static files, under `vendor/`.

No CDN: the browser loads htmx, model-viewer, ethers and three.js from our own origin. Only the
files listed here are exposed (not the whole node_modules tree), so `collectstatic` copies ~3.3 MB.

three.js's add-ons (GLTFLoader, ...) are ES modules that `import … from 'three'`: a bare specifier a
browser resolves only through an import map, i.e. an inline script the Content-Security-Policy
refuses. They are served as copies with that one specifier rewritten to the relative path of the
vendored build (written once under .local/vendor-esm/, next to nothing shared).
"""

import os
import posixpath
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage, Warning
from django.core.files.storage import FileSystemStorage

# static path -> path inside NODE_MODULES_DIR (versions pinned in ops/node/package.json)
VENDORED: dict[str, str] = {
    "vendor/htmx.min.js": "htmx.org/dist/htmx.min.js",
    "vendor/model-viewer.min.js": "@google/model-viewer/dist/model-viewer.min.js",
    "vendor/ethers.umd.min.js": "ethers/dist/ethers.umd.min.js",
    "vendor/three/three.module.min.js": "three/build/three.module.min.js",
    "vendor/three/three.core.min.js": "three/build/three.core.min.js",  # imported by the line above
}
THREE_MODULE = "vendor/three/three.module.min.js"
# static path -> ES module inside NODE_MODULES_DIR whose `from 'three'` points at THREE_MODULE instead
ESM_REWRITTEN: dict[str, str] = {
    "vendor/three/addons/loaders/GLTFLoader.js": "three/examples/jsm/loaders/GLTFLoader.js",
    "vendor/three/addons/utils/BufferGeometryUtils.js": "three/examples/jsm/utils/BufferGeometryUtils.js",
    "vendor/three/addons/utils/SkeletonUtils.js": "three/examples/jsm/utils/SkeletonUtils.js",
}
_BARE_THREE = re.compile(r"""(\bfrom\s*)(['"])three\2""")


def _root() -> Path:
    return Path(settings.NODE_MODULES_DIR)


def _build_dir() -> Path:
    return Path(settings.BASE_DIR) / ".local" / "vendor-esm"


def rewrite_bare_three(source: str, static_name: str) -> str:
    """`from 'three'` -> `from '<relative path to THREE_MODULE>'` (the only bare specifier the add-ons use)."""
    rel = posixpath.relpath(THREE_MODULE, posixpath.dirname(static_name))
    rel = rel if rel.startswith(".") else "./" + rel
    return _BARE_THREE.sub(lambda m: f"{m.group(1)}{m.group(2)}{rel}{m.group(2)}", source)


def _rewritten(static_name: str) -> Path | None:
    """The rewritten copy of an add-on (made when missing or older than its npm source)."""
    source = _root() / ESM_REWRITTEN[static_name]
    if not source.is_file():
        return None
    target = _build_dir() / static_name
    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    text = rewrite_bare_three(source.read_text(encoding="utf-8"), static_name)
    # Several processes may make it at once: write aside, then rename (atomic on one filesystem).
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, target)
    return target


class NodeModulesFinder(BaseFinder):
    """Finds `vendor/<file>` in the node_modules directory that `ops/install` fills."""

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        wanted = {**VENDORED, **ESM_REWRITTEN}
        missing = [name for name, rel in wanted.items() if not (_root() / rel).is_file()]
        if not missing:
            return []
        return [
            Warning(
                f"front-end assets missing from {_root()}: {', '.join(missing)}",
                hint="run `ops/install anvil` (installs the npm packages of ops/node)",
                id="frontend.W001",
            )
        ]

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:  # type: ignore[override]
        find_all = find_all or bool(kwargs.get("all"))
        if path in ESM_REWRITTEN:
            built = _rewritten(path)
            if built is None:
                return []
            return [str(built)] if find_all else str(built)
        rel = VENDORED.get(path)
        if rel is None or not (_root() / rel).is_file():
            return []  # not "": django.contrib.staticfiles.finders.find() would return [""] (whitenoise 500s)
        found = str(_root() / rel)
        return [found] if find_all else found

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for name, rel in VENDORED.items():
            source = _root() / rel
            if source.is_file():
                # A storage rooted at the file's folder, so `name` maps to the file itself.
                storage = FileSystemStorage(location=str(source.parent))
                storage.prefix = str(Path(name).parent)  # type: ignore[attr-defined]
                yield source.name, storage
        for name in ESM_REWRITTEN:
            built = _rewritten(name)
            if built is not None:
                storage = FileSystemStorage(location=str(built.parent))
                storage.prefix = str(Path(name).parent)  # type: ignore[attr-defined]
                yield built.name, storage
