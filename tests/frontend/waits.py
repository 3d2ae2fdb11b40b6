"""Waiting on a page's state without `page.wait_for_function`.

Playwright's `wait_for_function` builds its predicate with `eval` inside the page, which the site's
Content-Security-Policy (no 'unsafe-eval') refuses. `page.evaluate` goes through the DevTools
protocol, which page CSP does not govern, so the condition is polled from here instead.
"""

import time
from typing import Any

POLL_S = 0.1


def wait_for_js(page: Any, expression: str, *, timeout: float) -> Any:
    """Poll `expression` (a JS expression or arrow function) until truthy; `timeout` in ms as Playwright's."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"page condition still false after {timeout / 1000:.0f} s: {expression}")
        time.sleep(POLL_S)
