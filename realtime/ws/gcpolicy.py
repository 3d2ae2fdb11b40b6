"""Keep the garbage collector's full passes short in the ws process.

The ws process holds many long-lived objects (start-up, plus some per socket), and CPython 3.11's
full (generation 2) collection scans all of them: a pause of the event loop long enough to make a
frame late for every socket (measured with bench/ws_fanout.py --mode show; figures in
bench/README.md).

So, started by the ASGI server's lifespan start-up (config/asgi.py) and run by a daemon thread: everything alive at start-up is frozen (modules, classes: never
garbage), and every `WS_GC_FREEZE_SECONDS` what survived since is frozen too, so a full pass only
looks at objects from the last interval (pauses of a few ms). Frozen objects are still freed by
reference counting; only reference cycles among them wait, so every `WS_GC_FULL_SECONDS` the
policy unfreezes everything and runs one full collection (one long pause per interval, reclaiming
the cycles of sockets closed meanwhile) before freezing the survivors again.
"""

import gc
import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings

log = logging.getLogger(__name__)


class GcPolicy:
    """What to do at each tick: freeze the survivors, or (every `full_every`) a full collection."""

    def __init__(self, *, full_every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.full_every = full_every
        self.clock = clock
        self.last_full = clock()

    def tick(self) -> str:
        now = self.clock()
        if now - self.last_full >= self.full_every:
            self.last_full = now
            gc.unfreeze()
            started = time.perf_counter()
            collected = gc.collect()
            gc.freeze()
            log.info(
                "ws gc: full collection, %d unreachable, %.0f ms",
                collected,
                1000 * (time.perf_counter() - started),
            )
            return "full"
        gc.freeze()
        return "freeze"


def start() -> threading.Thread | None:
    """Freeze start-up objects now and run the policy in a daemon thread (once per process)."""
    every = settings.WS_GC_FREEZE_SECONDS
    if every <= 0:
        return None
    gc.collect()  # what start-up left as garbage goes now, before freezing the rest
    gc.freeze()
    policy = GcPolicy(full_every=settings.WS_GC_FULL_SECONDS)

    def run() -> None:
        while True:
            time.sleep(every)
            policy.tick()

    thread = threading.Thread(target=run, name="ws-gc-policy", daemon=True)
    thread.start()
    log.info(
        "ws gc: start-up objects frozen; survivors every %.1f s, full collection every %.0f s",
        every,
        settings.WS_GC_FULL_SECONDS,
    )
    return thread
