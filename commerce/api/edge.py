"""Reserve refusals answered at the WSGI edge, before Django: answers this process already knows.

Two kinds, each the answer the full stack would give, without building a Django request, running
the middleware, DRF, authentication or asking Redis (that stack spent ~3.5 ms of CPU on a refusal,
bench/reserve_layers.py; in a stampede refusals are most of the work):

1. **Boxed callers -> 429.** A fixed-window throttle (commerce/abuse/limiter.py) that refused a
   caller refuses every later request of that caller until the window ends: the counter only grows
   inside its window. So once the full stack has answered 429 because `reserve.ip` (an address) or
   `reserve.user` (the account behind an `Authorization` header) is over its limit, this process
   remembers (caller, end of that window) and answers the caller's next reserves with the same
   status, error shape, message and `Retry-After`.
2. **Sold out -> 409.** The view's precheck (`_known_refusal`) answers `sold_out` from this process's
   memo (commerce/services/soldout_memo.py) before the database; the edge gives the same answer
   for a plain body (drop, SKU, quantity as integers) without an `Idempotency-Key` (a keyed request
   must replay or record its answer: Django's), unless the drop is queued and the request has no
   admission token (Django answers that 403, and counts and flags it).

Knowingly different from the full stack:
- the refused request is not counted by the throttles, and its sender is not flagged again (a boxed
  caller was flagged when boxed; after a sell-out there is nothing left to protect);
- a request without valid credentials gets 429 from a boxed address, or 409 for a sold-out SKU
  (the drop page shows that to anyone), where Django would answer 401.

Per process (each web worker learns from its own answers), bounded (cleared past MAX_BOXED); the
429s are off with the throttles (ABUSE_THROTTLE_ENABLED), the 409s with the memo.
"""

import functools
import hashlib
import io
import json
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from rest_framework.exceptions import Throttled

from commerce.abuse.client_ip import client_ip_of
from commerce.api.edge_answer import answer, route_label
from commerce.errors import SoldOut
from commerce.services import soldout_memo
from config.api_errors import error_body
from monitoring import metrics

RESERVE_PATH = "/api/v1/reservations/"
ALLOW = "GET, POST, HEAD, OPTIONS"  # ReservationListCreateView's methods, as DRF lists them
MAX_BOXED = 50_000
MAX_PLAIN_BODY = 256  # bytes: a plain reserve body is ~50; anything longer goes to Django
_boxed: dict[str, float] = {}  # "ip:<address>" / "auth:<digest of Authorization>" -> window end (time.time())


def _ip_key(meta: dict[str, Any]) -> str:
    return f"ip:{client_ip_of(meta)}"


def _auth_key(meta: dict[str, Any]) -> str | None:
    header = meta.get("HTTP_AUTHORIZATION")  # kept as a digest: no bearer token sits in the box
    return "auth:" + hashlib.blake2b(str(header).encode(), digest_size=16).hexdigest() if header else None


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


@functools.lru_cache(maxsize=1024)
def _throttled_message(wait: int) -> str:
    """DRF's 429 message for this wait, built once per value (its translation lookups were a tenth of
    an edge 429's Python; the edge runs outside any request's language, so the default one)."""
    return str(Throttled(wait=wait).detail)


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """The request body if it is a short JSON one (put back for Django to read again), else None."""
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/json"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= MAX_PLAIN_BODY:
        return None
    raw: bytes = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    return raw


def sold_out_body(environ: dict[str, Any]) -> dict[str, Any] | None:
    """The view precheck's `sold_out` answer for this request, when it is one the edge may give."""
    if not soldout_memo.remembers_any():  # nothing seen sold out here: leave the body to Django
        return None
    if environ.get("HTTP_IDEMPOTENCY_KEY") or (raw := _read_body(environ)) is None:
        return None
    # The view's own reading of the body and its own precheck (imported here: the view module
    # imports the throttles, which import this module).
    from commerce.api.views_buyer import known_refusal, plain_reserve_fields

    try:
        fields = plain_reserve_fields(json.loads(raw))
    except ValueError:
        return None
    if fields is None:
        return None
    refusal = known_refusal(admission_token=environ.get("HTTP_ADMISSION_TOKEN"), **fields)
    # Only sold_out: a token-less reserve in a queued drop is Django's to refuse, count and flag.
    if not isinstance(refusal, SoldOut):
        return None
    return error_body(refusal.code, refusal.message, refusal.details)


class ReserveEdge:
    """WSGI middleware in front of Django (config/wsgi.py): reserves of boxed callers, and reserves of a
    SKU this process saw sold out, are answered here; everything else goes on to Django."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != RESERVE_PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        if settings.ABUSE_THROTTLE_ENABLED and (wait := boxed_for(environ)) is not None:
            detail = _throttled_message(wait)
            body = error_body("throttled", detail, {"retry_after": wait})
            return _answer(environ, start_response, 429, "throttled", body, [("Retry-After", str(wait))])
        if (sold_out := sold_out_body(environ)) is not None:
            return _answer(environ, start_response, 409, "sold_out", sold_out, [])
        return self.app(environ, start_response)


def _answer(
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    status: int,
    outcome: str,
    body: dict[str, Any],
    extra: list[tuple[str, str]],
) -> list[bytes]:
    if metrics.ENABLED:
        metrics.count_reservation(outcome)
    return answer(
        environ,
        start_response,
        status=status,
        body=body,
        route=route_label(RESERVE_PATH),
        allow=ALLOW,
        extra=extra,
    )
