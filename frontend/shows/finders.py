"""Serve hls.js from its npm package (installed by `ops/install anvil`) as `vendor/hls.min.js`: no CDN."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

VENDORED = {"vendor/hls.min.js": "hls.js/dist/hls.min.js"}  # version pinned in ops/node/package.json


class ShowAssetsFinder(BaseFinder):
    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:  # type: ignore[override]
        find_all = find_all or bool(kwargs.get("all"))
        rel = VENDORED.get(path)
        source = Path(settings.NODE_MODULES_DIR) / rel if rel else None
        if source is None or not source.is_file():
            return []  # not "": finders.find() would return [""], a 500 for every missing file
        return [str(source)] if find_all else str(source)

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for name, rel in VENDORED.items():
            source = Path(settings.NODE_MODULES_DIR) / rel
            if source.is_file():
                storage = FileSystemStorage(location=str(source.parent))
                storage.prefix = str(Path(name).parent)  # type: ignore[attr-defined]
                yield source.name, storage
