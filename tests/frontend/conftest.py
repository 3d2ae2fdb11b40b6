"""Fixtures of the browser end-to-end tests: the running stack and a headless Chromium."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.frontend.stack import ROOT, Stack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture
def stack(transactional_db: None, settings: Any) -> Iterator[Stack]:
    """The whole system on the test database; this process talks to the same private chain."""
    running = Stack()
    try:
        running.start()
        settings.CHAIN_RPC_URL = running.chain_url
        settings.SITE_URL = running.web_url
        settings.NFT_METADATA_BASE_URL = f"{running.web_url}/nft/metadata"
        yield running
    finally:
        running.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `ops/install browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
