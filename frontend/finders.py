"""Serve a few files of npm packages (installed by `ops/install`) as static files, under `vendor/`.

No CDN: the browser loads htmx, model-viewer and ethers from our own origin. Only the files
listed here are exposed (not the whole node_modules tree), so `collectstatic` copies ~2.5 MB.
"""

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
}


def _root() -> Path:
    return Path(settings.NODE_MODULES_DIR)


class NodeModulesFinder(BaseFinder):
    """Finds `vendor/<file>` in the node_modules directory that `ops/install` fills."""

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        missing = [name for name, rel in VENDORED.items() if not (_root() / rel).is_file()]
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
