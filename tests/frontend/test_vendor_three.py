"""three.js is served from our origin: the build as is, its add-ons with the bare 'three' import rewritten."""

import re
from pathlib import Path

from django.contrib.staticfiles import finders

from frontend.finders import ESM_REWRITTEN, rewrite_bare_three

BARE = re.compile(r"""\bfrom\s*['"]three['"]""")


def test_rewrite_points_the_bare_specifier_at_the_vendored_build() -> None:
    source = (
        "import { Mesh } from 'three';\nimport { x } from \"three\";\nimport { y } from './three-ish.js';\n"
    )
    out = rewrite_bare_three(source, "vendor/three/addons/loaders/GLTFLoader.js")
    assert out == (
        "import { Mesh } from '../../three.module.min.js';\n"
        'import { x } from "../../three.module.min.js";\n'
        "import { y } from './three-ish.js';\n"
    )


def test_every_add_on_is_found_without_a_bare_import_and_its_imports_resolve() -> None:
    for name in ESM_REWRITTEN:
        found = finders.find(name)
        assert isinstance(found, str), name
        text = Path(found).read_text()
        assert not BARE.search(text), name
        # Every relative import of the add-on is itself served (GLTFLoader -> utils, -> the build).
        for rel in re.findall(r"""\bfrom\s*['"](\.[^'"]+)['"]""", text):
            target = _norm(f"{Path(name).parent}/{rel}")
            assert finders.find(target), f"{name} imports {rel} ({target}), not served"


def _norm(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def test_the_build_and_its_core_are_served() -> None:
    module = finders.find("vendor/three/three.module.min.js")
    assert isinstance(module, str) and "./three.core.min.js" in Path(module).read_text()[:20000]
    assert finders.find("vendor/three/three.core.min.js")
