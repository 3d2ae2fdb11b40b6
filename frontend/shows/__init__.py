"""Live-show pages: the viewer page, the host console, the demo video (not a Django app of its own)."""
