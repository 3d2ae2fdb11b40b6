"""Make the demo's static media: one SVG picture per demo product and a small glTF wearable.

Run `python -m frontend.demo.assets` to (re)write them under frontend/static/frontend/demo/.
Everything is drawn here from numbers, so the repository holds no binary and nothing is fetched.
"""

import base64
import json
import struct
import sys
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parents[1] / "static" / "frontend" / "demo"

# file stem -> (label, two gradient colours, shape drawn in the middle)
PICTURES: dict[str, tuple[str, str, str, str]] = {
    "hoodie": ("Hoodie", "#4b2bd6", "#ff6fb5", "hoodie"),
    "pin-set": ("Enamel pins", "#0b6b3a", "#ffd34d", "pins"),
    "neon-jacket": ("Neon jacket", "#101030", "#00e5ff", "jacket"),
    "holo-visor": ("Holo visor", "#2a0845", "#6441a5", "visor"),
    "sneaker": ("Genesis sneaker", "#ff5f6d", "#ffc371", "sneaker"),
    "print": ("Signed print", "#1d2b64", "#f8cdda", "print"),
    "show-cover": ("Live show", "#c4122f", "#4b2bd6", "camera"),
}

SHAPES: dict[str, str] = {
    "hoodie": '<path d="M150 70l-50 25-40 70 30 15 25-35v110h170V145l25 35 30-15-40-70-50-25'
    'c-10 25-30 35-50 35s-40-10-50-35z" fill="#fff" fill-opacity=".92"/>'
    '<path d="M185 110v40M215 110v40" stroke="#4b2bd6" stroke-width="5" stroke-linecap="round"/>',
    "pins": '<circle cx="140" cy="140" r="42" fill="#fff"/><circle cx="140" cy="140" r="20" fill="#0b6b3a"/>'
    '<rect x="200" y="98" width="84" height="84" rx="18" fill="#fff"/>'
    '<path d="M242 115l10 22 24 2-18 16 6 24-22-13-22 13 6-24-18-16 24-2z" fill="#ffd34d"/>'
    '<path d="M170 200h60l-30 45z" fill="#fff"/>',
    "jacket": '<path d="M150 70l-55 30-35 130h45l10-70v110h170V160l10 70h45l-35-130-55-30-50 60z"'
    ' fill="#00e5ff" fill-opacity=".25" stroke="#00e5ff" stroke-width="6" stroke-linejoin="round"/>'
    '<path d="M200 130v110" stroke="#ff3df2" stroke-width="6"/>',
    "visor": '<path d="M80 150c40-60 200-60 240 0-40 40-200 40-240 0z" fill="#fff" fill-opacity=".2"'
    ' stroke="#b8f3ff" stroke-width="6"/><path d="M110 150c30-30 150-30 180 0" stroke="#ff9cf5"'
    ' stroke-width="6" fill="none"/>',
    "sneaker": '<path d="M70 200c0-30 10-60 40-70l40 20c20 10 50 10 70 0l30 25c40 5 80 10 80 35v15H70z"'
    ' fill="#fff"/><path d="M70 215h260v15H70z" fill="#17171f"/>'
    '<path d="M160 165l15-10M180 172l15-10M200 175l15-10" stroke="#ff5f6d" stroke-width="5"/>',
    "print": '<rect x="120" y="55" width="160" height="200" fill="#fff"/>'
    '<rect x="138" y="73" width="124" height="124" fill="#1d2b64" fill-opacity=".85"/>'
    '<circle cx="200" cy="135" r="34" fill="#f8cdda"/>'
    '<path d="M150 225c20-15 30 10 50-5s30 5 50-5" stroke="#1d2b64" stroke-width="4" fill="none"/>',
    "camera": '<rect x="90" y="100" width="170" height="110" rx="16" fill="#fff"/>'
    '<path d="M260 135l60-30v100l-60-30z" fill="#fff"/><circle cx="130" cy="130" r="12" fill="#c4122f"/>',
}


def picture_svg(stem: str) -> str:
    """A 400x300 card picture: gradient, a simple drawing of the product, its name."""
    label, start, end, shape = PICTURES[stem]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" width="400" height="300"'
        f' role="img" aria-label="{label}">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="{start}"/>'
        f'<stop offset="1" stop-color="{end}"/></linearGradient></defs>'
        '<rect width="400" height="300" fill="url(#g)"/>'
        f"{SHAPES[shape]}"
        '<text x="200" y="285" text-anchor="middle" font-family="system-ui,sans-serif" font-size="20"'
        f' font-weight="700" fill="#fff">{label}</text></svg>\n'
    )


# A jacket as boxes: (centre x, y, z), (half sizes x, y, z). Units are metres, y up.
JACKET_BOXES = [
    ((0.0, 1.25, 0.0), (0.22, 0.28, 0.12)),  # torso
    ((-0.33, 1.32, 0.0), (0.11, 0.2, 0.09)),  # left sleeve
    ((0.33, 1.32, 0.0), (0.11, 0.2, 0.09)),  # right sleeve
    ((0.0, 1.56, 0.0), (0.1, 0.03, 0.1)),  # collar
]
VISOR_BOXES = [
    ((0.0, 1.7, 0.1), (0.11, 0.035, 0.015)),  # lens
    ((-0.115, 1.7, 0.02), (0.01, 0.02, 0.08)),  # left arm
    ((0.115, 1.7, 0.02), (0.01, 0.02, 0.08)),  # right arm
]
# model file stem -> (name, boxes, base colour, emissive colour)
MODELS: dict[str, tuple[str, list[Any], list[float], list[float]]] = {
    "neon-jacket": ("Neon jacket", JACKET_BOXES, [0.0, 0.55, 0.75, 1.0], [0.0, 0.18, 0.25]),
    "holo-visor": ("Holo visor", VISOR_BOXES, [0.45, 0.2, 0.85, 1.0], [0.12, 0.05, 0.3]),
}
# Per face: normal and the 4 corners as signs of the half sizes (counter-clockwise seen from outside).
FACES = [
    ((1, 0, 0), [(1, -1, 1), (1, -1, -1), (1, 1, -1), (1, 1, 1)]),
    ((-1, 0, 0), [(-1, -1, -1), (-1, -1, 1), (-1, 1, 1), (-1, 1, -1)]),
    ((0, 1, 0), [(-1, 1, 1), (1, 1, 1), (1, 1, -1), (-1, 1, -1)]),
    ((0, -1, 0), [(-1, -1, -1), (1, -1, -1), (1, -1, 1), (-1, -1, 1)]),
    ((0, 0, 1), [(-1, -1, 1), (1, -1, 1), (1, 1, 1), (-1, 1, 1)]),
    ((0, 0, -1), [(1, -1, -1), (-1, -1, -1), (-1, 1, -1), (1, 1, -1)]),
]


def _mesh(boxes: list[Any]) -> tuple[list[tuple[float, float, float]], list[tuple[int, int, int]], list[int]]:
    positions: list[tuple[float, float, float]] = []
    normals: list[tuple[int, int, int]] = []
    indices: list[int] = []
    for (cx, cy, cz), (hx, hy, hz) in boxes:
        for normal, corners in FACES:
            base = len(positions)
            for sx, sy, sz in corners:
                positions.append((cx + sx * hx, cy + sy * hy, cz + sz * hz))
                normals.append(normal)
            indices += [base, base + 1, base + 2, base, base + 2, base + 3]
    return positions, normals, indices


def wearable_gltf(stem: str) -> dict[str, Any]:
    """A glTF 2.0 document with its buffer embedded as a data URI (one file, no fetches)."""
    name, boxes, colour, glow = MODELS[stem]
    positions, normals, indices = _mesh(boxes)
    pos_bytes = b"".join(struct.pack("<3f", *p) for p in positions)
    nrm_bytes = b"".join(struct.pack("<3f", *map(float, n)) for n in normals)
    idx_bytes = struct.pack(f"<{len(indices)}H", *indices)
    idx_bytes += b"\0" * (-len(idx_bytes) % 4)
    blob = pos_bytes + nrm_bytes + idx_bytes
    lo = [round(min(p[i] for p in positions), 6) for i in range(3)]
    hi = [round(max(p[i] for p in positions), 6) for i in range(3)]
    return {
        "asset": {"version": "2.0", "generator": "mintdrop frontend.demo.assets"},
        "scene": 0,
        "scenes": [{"name": name, "nodes": [0]}],
        "nodes": [{"name": stem, "mesh": 0}],
        "meshes": [
            {
                "name": stem,
                "primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}, "indices": 2, "material": 0}],
            }
        ],
        "materials": [
            {
                "name": "neon",
                "pbrMetallicRoughness": {
                    "baseColorFactor": colour,
                    "metallicFactor": 0.1,
                    "roughnessFactor": 0.4,
                },
                "emissiveFactor": glow,
            }
        ],
        "buffers": [
            {
                "byteLength": len(blob),
                "uri": "data:application/octet-stream;base64," + base64.b64encode(blob).decode(),
            }
        ],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(pos_bytes), "target": 34962},
            {"buffer": 0, "byteOffset": len(pos_bytes), "byteLength": len(nrm_bytes), "target": 34962},
            {
                "buffer": 0,
                "byteOffset": len(pos_bytes) + len(nrm_bytes),
                "byteLength": len(indices) * 2,
                "target": 34963,
            },
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": len(positions),
                "type": "VEC3",
                "min": lo,
                "max": hi,
            },
            {"bufferView": 1, "componentType": 5126, "count": len(normals), "type": "VEC3"},
            {"bufferView": 2, "componentType": 5123, "count": len(indices), "type": "SCALAR"},
        ],
    }


def files() -> dict[str, str]:
    """File name (under OUT_DIR) -> content."""
    out = {f"{stem}.svg": picture_svg(stem) for stem in PICTURES}
    for stem in MODELS:
        out[f"{stem}.gltf"] = json.dumps(wearable_gltf(stem), indent=1) + "\n"
    return out


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, content in files().items():
        (OUT_DIR / name).write_text(content)
        sys.stdout.write(f"wrote {OUT_DIR / name}\n")


if __name__ == "__main__":
    main()
