"""One fault-injection point for crash tests: `crash_point("name")` dies like `kill -9` when armed.

Tests that prove a crash is harmless start a child process with `MINTDROP_CRASH_AT=<name>` (a
comma-separated list may arm several points) and watch it die at that point with exit code 137.
Arming is refused unless the `FAULT_INJECTION_ENABLED` setting is on, which only the test
settings turn on (`MINTDROP_FAULT_INJECTION=1`, set by tests/conftest.py for the test process
and the children it starts): a stray variable in production cannot kill a worker.

Named points: nft.after_sign, nft.after_send (nft/services), consumer.after_commit
(realtime/consumer.py), refunds.after_call (commerce/payments/services/refunds.py).
"""

import os

from django.conf import settings

CRASH_AT_ENV = "MINTDROP_CRASH_AT"
CRASH_EXIT_CODE = 137  # what a shell reports for a process killed with SIGKILL


def armed(name: str) -> bool:
    """Whether `crash_point(name)` would fire now (never unless fault injection is enabled)."""
    if not getattr(settings, "FAULT_INJECTION_ENABLED", False):
        return False
    return name in os.environ.get(CRASH_AT_ENV, "").split(",")


def crash_point(name: str) -> None:
    """Exit at once, with no clean-up (a stand-in for kill -9), when a test armed this point."""
    if armed(name):
        os._exit(CRASH_EXIT_CODE)


PLANT_ENV = "MINTDROP_PLANT"


def planted(name: str) -> bool:
    """Whether the test-only planted bug `name` is on (tests/chaos proves its checks catch it).

    Same gate as crash points: only with fault injection enabled (test settings), never in production.
    Named plants: offset_before_effect (realtime/consumer.py: offsets committed before the effects).
    """
    if not getattr(settings, "FAULT_INJECTION_ENABLED", False):
        return False
    return name in os.environ.get(PLANT_ENV, "").split(",")
