"""Demo media: the committed files are what the generator makes, valid, served locally; no remote URL."""

import base64
import json
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from commerce.management.commands.seed_demo import PRODUCTS, demo_media_path, demo_media_url, product_media
from frontend.demo import assets

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
SIZES = {5123: 2, 5125: 4, 5126: 4}  # unsigned short, unsigned int, float
# Where a remote URL would make the demo fetch from another host. SVG's XML namespace is a name, not a fetch.
DEMO_SOURCES = [
    ROOT / "commerce/management/commands/seed_demo.py",
    ROOT / "commerce/shows/management/commands/seed_demo_show.py",
    *sorted((ROOT / "frontend/templates").rglob("*.html")),
    *sorted((ROOT / "frontend/static/frontend").rglob("*.js")),
    *sorted((ROOT / "frontend/static/frontend").rglob("*.css")),
    *sorted((ROOT / "frontend/static/frontend/demo").iterdir()),
]
REMOTE = re.compile(r"https?://(?!www\.w3\.org/2000/svg\")")


def test_committed_demo_files_are_what_the_generator_makes() -> None:
    made = assets.files()
    on_disk = {p.name for p in assets.OUT_DIR.iterdir()}
    assert on_disk == set(made), "run `python -m frontend.demo.assets` and commit the result"
    for name, content in made.items():
        assert (assets.OUT_DIR / name).read_text() == content, (
            f"{name} is stale: run python -m frontend.demo.assets"
        )


def test_every_demo_product_has_a_picture_and_wearables_a_model_on_disk() -> None:
    for spec in PRODUCTS:
        assert (assets.OUT_DIR / spec["picture"]).is_file(), spec["title"]
        if "model" in spec:
            assert (assets.OUT_DIR / spec["model"]).is_file(), spec["title"]
    assert {s["kind"] for s in PRODUCTS if "model" in s} == {"digital"}


@pytest.mark.parametrize("name", sorted(p.name for p in assets.OUT_DIR.glob("*.svg")))
def test_pictures_are_well_formed_svg(name: str) -> None:
    root = ET.fromstring((assets.OUT_DIR / name).read_text())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == ("400", "300")


def _read(doc: dict[str, Any], blob: bytes, index: int) -> list[tuple[float, ...]]:
    accessor = doc["accessors"][index]
    view = doc["bufferViews"][accessor["bufferView"]]
    n, size = COMPONENTS[accessor["type"]], SIZES[accessor["componentType"]]
    assert view["byteOffset"] + accessor["count"] * n * size <= view["byteOffset"] + view["byteLength"]
    assert view["byteOffset"] + view["byteLength"] <= len(blob)
    fmt = "<" + {5123: "H", 5125: "I", 5126: "f"}[accessor["componentType"]] * n
    raw = blob[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]
    return [struct.unpack_from(fmt, raw, i * n * size) for i in range(accessor["count"])]


@pytest.mark.parametrize("name", sorted(p.name for p in assets.OUT_DIR.glob("*.gltf")))
def test_models_are_valid_self_contained_gltf(name: str) -> None:
    doc = json.loads((assets.OUT_DIR / name).read_text())
    assert doc["asset"]["version"] == "2.0"
    (buffer,) = doc["buffers"]
    prefix = "data:application/octet-stream;base64,"
    assert buffer["uri"].startswith(prefix)  # embedded: nothing else to fetch
    blob = base64.b64decode(buffer["uri"][len(prefix) :])
    assert len(blob) == buffer["byteLength"]
    for view in doc["bufferViews"]:
        assert view["byteOffset"] % 4 == 0
    (primitive,) = doc["meshes"][doc["nodes"][doc["scenes"][doc["scene"]]["nodes"][0]]["mesh"]]["primitives"]
    positions = _read(doc, blob, primitive["attributes"]["POSITION"])
    normals = _read(doc, blob, primitive["attributes"]["NORMAL"])
    indices = [i[0] for i in _read(doc, blob, primitive["indices"])]
    assert len(positions) == len(normals) and len(indices) % 3 == 0
    assert all(0 <= i < len(positions) for i in indices)
    assert all(abs(sum(c * c for c in n) - 1.0) < 1e-6 for n in normals)
    accessor = doc["accessors"][primitive["attributes"]["POSITION"]]
    for axis in range(3):  # glTF requires POSITION min/max, and they must be the real bounds
        assert accessor["min"][axis] == pytest.approx(min(p[axis] for p in positions), abs=1e-5)
        assert accessor["max"][axis] == pytest.approx(max(p[axis] for p in positions), abs=1e-5)
    assert primitive["material"] < len(doc["materials"])


def test_no_remote_url_in_the_demo() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}"
        for path in DEMO_SOURCES
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if REMOTE.search(line)
    ]
    assert offenders == []


@override_settings(SITE_URL="http://shop.example:8000/")
def test_seed_media_are_site_paths_and_metadata_urls_absolute() -> None:
    jacket = next(s for s in PRODUCTS if s.get("model") == "neon-jacket.gltf")
    media_urls, metadata = product_media(jacket)
    assert media_urls == [demo_media_path("neon-jacket.svg"), demo_media_path("neon-jacket.gltf")]
    assert media_urls[0] == "/static/frontend/demo/neon-jacket.svg"
    assert metadata["image"] == "http://shop.example:8000/static/frontend/demo/neon-jacket.svg"
    assert metadata["animation_url"] == demo_media_url("neon-jacket.gltf")
    assert metadata["name"] == "Neon jacket #{serial}"
    hoodie = next(s for s in PRODUCTS if s["kind"] == "physical")
    assert product_media(hoodie)[1] == {}  # nothing is minted for it


def test_demo_files_are_served_and_a_missing_static_file_is_a_404(client: Client) -> None:
    # Django's test client goes through whitenoise like the dev server (DEBUG: finders, no collectstatic).
    with override_settings(DEBUG=True):
        from whitenoise.middleware import WhiteNoiseMiddleware

        middleware = WhiteNoiseMiddleware(lambda request: None)
        assert middleware.find_file("/static/frontend/demo/hoodie.svg") is not None
        assert middleware.find_file("/static/frontend/demo/not-there.svg") is None
    assert settings.STATIC_URL.strip("/") == "static"
