"""Fixtures of the browser end-to-end tests: the running stack and a headless Chromium."""

from collections.abc import Generator, Iterator
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
# WebGL in headless Chromium without a GPU: ANGLE on SwiftShader (software), which Chromium only
# offers for WebGL when told it may (Debian's chromium 156 draws the 3D venue with these).
WEBGL_ARGS = [a for a in CHROMIUM_ARGS if a != "--disable-gpu"] + [
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the call phase's report on the item, so the stack fixture knows whether the test failed."""
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    return report


CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.fixture
def stack(transactional_db: None, settings: Any, request: pytest.FixtureRequest) -> Iterator[Stack]:
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
        report = request.node.stash.get(CALL_REPORT, None)
        if report is not None and report.failed:
            # CI keeps only pytest's output: put the end of every process's log into it.
            print(running.log_tails())


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from _chromium(CHROMIUM_ARGS)


@pytest.fixture
def webgl_browser() -> Iterator[Any]:
    """Like `browser`, with software WebGL (for the three.js venue)."""
    yield from _chromium(WEBGL_ARGS)


def _chromium(args: list[str]) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `ops/install browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        violations = _watch_csp(chromium)
        try:
            yield chromium
        finally:
            chromium.close()
        # Every page is served with a Content-Security-Policy (config/security_headers.py): a page that
        # still relies on an inline script, style or handler shows up here as a refused resource.
        assert not violations, f"Content-Security-Policy violations: {violations}"


def _watch_csp(chromium: Any) -> list[str]:
    """Record the console's CSP refusals of every page opened through this browser."""
    violations: list[str] = []

    def watch(page: Any) -> None:
        page.on(
            "console",
            lambda msg: (
                violations.append(f"{page.url}: {msg.text}")
                if "Content Security Policy" in msg.text
                else None
            ),
        )

    new_context, new_page = chromium.new_context, chromium.new_page

    def context(*args: Any, **kwargs: Any) -> Any:
        ctx = new_context(*args, **kwargs)
        ctx.on("page", watch)
        return ctx

    def page(*args: Any, **kwargs: Any) -> Any:
        opened = new_page(*args, **kwargs)
        watch(opened)
        return opened

    chromium.new_context, chromium.new_page = context, page
    return violations


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
