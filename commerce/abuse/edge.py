"""Reserve refusals answered at the WSGI edge, before Django, for callers the reserve throttle refused.

A fixed-window throttle (commerce/abuse/limiter.py) that refused a caller refuses every later request
of that caller until the window ends: the counter only grows inside its window. So once the full
stack has answered 429 because `reserve.ip` (an address) or `reserve.user` (the account behind an
`Authorization` header) is over its limit, this process remembers (caller, end of that window) and
answers the caller's next reserves itself: the same status, error shape, message and `Retry-After`,
without building a Django request, running the middleware, DRF, authentication, or asking Redis.
The full stack spent ~3.5 ms of CPU on such a refusal (bench/reserve_layers.py); a script hammering
reserve from a few addresses (drop_stampede's bots) was most of a stampede's work.

Knowingly different from the full stack, while a caller is boxed:
- the refused request is not counted again (the window is already over its limit and ends at the
  same moment either way);
- its sender is not flagged again (the refusal that boxed it flagged the buyer for the drop; flags
  are written at most once a minute anyway);
- a request without valid credentials from a boxed address gets 429, not 401.

Per process (each web worker learns from its own refusals), bounded (cleared past MAX_BOXED), and
off with the throttles (ABUSE_THROTTLE_ENABLED).
"""

import json
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.urls import resolve
from rest_framework.exceptions import Throttled

from commerce.abuse.client_ip import client_ip_of
from config.api_errors import error_body
from monitoring import metrics

RESERVE_PATH = "/api/v1/reservations/"
MAX_BOXED = 50_000
_boxed: dict[str, float] = {}  # "ip:<address>" / "auth:<Authorization header>" -> window end (time.time())


def _ip_key(meta: dict[str, Any]) -> str:
    return f"ip:{client_ip_of(meta)}"


def _auth_key(meta: dict[str, Any]) -> str | None:
    header = meta.get("HTTP_AUTHORIZATION")
    return f"auth:{header}" if header else None


def box(meta: dict[str, Any], *, scopes: Iterable[str], retry_after: int, now: float | None = None) -> None:
    """The reserve throttle refused this request (`scopes` over their limits): box its callers until
    the window ends (`retry_after` seconds from now, as the limiter computed it)."""
    until = (time.time() if now is None else now) + retry_after
    keys = []
    for scope in scopes:
        if scope == "reserve.ip":
            keys.append(_ip_key(meta))
        elif scope == "reserve.user" and (auth := _auth_key(meta)) is not None:
            keys.append(auth)
    if len(_boxed) + len(keys) > MAX_BOXED:
        _boxed.clear()
    for key in keys:
        _boxed[key] = max(_boxed.get(key, 0.0), until)


def boxed_for(meta: dict[str, Any], now: float | None = None) -> int | None:
    """Seconds this request's caller stays refused (its Retry-After), None if it is not boxed."""
    now = time.time() if now is None else now
    until = _boxed.get(_ip_key(meta), 0.0)
    auth = _auth_key(meta)
    if auth is not None:
        until = max(until, _boxed.get(auth, 0.0))
    return math.ceil(until - now) if until > now else None


def forget_all() -> None:
    """Tests: start from an empty box."""
    _boxed.clear()


_route: list[str] = []


def _count(status: int) -> None:
    if not metrics.ENABLED:
        return
    if not _route:  # the route label the metrics middleware gives this view
        _route.append("/" + (resolve(RESERVE_PATH).route or RESERVE_PATH))
    metrics.HTTP_RESPONSES.labels("POST", _route[0], str(status)).inc()
    metrics.count_reservation("throttled")


class ReserveEdge:
    """WSGI middleware in front of Django (config/wsgi.py): boxed callers' reserves end here."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (
            environ.get("PATH_INFO") == RESERVE_PATH
            and environ.get("REQUEST_METHOD") == "POST"
            and settings.ABUSE_THROTTLE_ENABLED
            and (wait := boxed_for(environ)) is not None
        ):
            return self._refuse(start_response, wait)
        return self.app(environ, start_response)

    @staticmethod
    def _refuse(start_response: Callable[..., Any], wait: int) -> list[bytes]:
        exc = Throttled(wait=wait)
        body = json.dumps(error_body("throttled", str(exc.detail), {"retry_after": wait})).encode()
        start_response(
            "429 Too Many Requests",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Retry-After", str(wait)),
                ("Vary", "Accept"),
            ],
        )
        _count(429)
        return [body]
