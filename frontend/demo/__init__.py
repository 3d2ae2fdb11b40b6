"""Demo media: product pictures (SVG) and a wearable's 3D model (glTF), served as static files.

The files under frontend/static/frontend/demo/ are the output of `python -m frontend.demo.assets`
(committed, a few KB in all) so the demo shows real pictures offline; a test checks they match.
"""
