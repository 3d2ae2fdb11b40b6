"""Waiting-room joins and polls answered in front of Django (WSGI middleware, config/wsgi.py).

In a hyped drop thousands of buyers join the room and poll their place (the browser gets `queue`
frames over the drop's socket; scripts and apps poll). Through Django each of those cost ~1.1 ms of
server CPU (bench/reserve_layers.py: the middleware chain, DRF's dispatch and content negotiation
around one Redis call), as much as the bots' refused reserves and the admitted buyers' reserves
together. Here the same answer is built from the same functions: the token is checked by the API's
own authentication (commerce/api/auth.py `user_id_for_header`: cache, then one query), the place comes from
`services.join` / `services.queue_status`, and a refusal they raise (404, 409, 403 for a buyer the
merchant blocked, 503 paused with `Retry-After`) is rendered in the API's error shape with its status.

Left to Django (which gives its own answer): another path or method, no `Authorization: Token`
header or one the authentication refuses (Django's 401 with `WWW-Authenticate`), a request Django
would redirect to HTTPS, a database error (Django's 503), the setting COMMERCE_WAITING_ROOM_EDGE off.
The OpenAPI document keeps describing the endpoint through its DRF view (commerce/waiting_room/api.py),
and tests/commerce/waiting_room/test_edge.py checks both give the same status, body and headers.
Not traced (like commerce/api/edge.py); counted in the HTTP metrics under the view's route.
"""

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from commerce.api.auth import user_id_for_header
from commerce.api.edge_answer import answer, route_label
from commerce.waiting_room import services as rooms
from commerce.waiting_room.errors import WaitingRoomUnavailable
from config.api_errors import error_body
from config.errors import ApplicationError
from config.security_headers import redirects_to_https

log = logging.getLogger(__name__)

QUEUE_PATH = re.compile(r"/api/v1/drops/([0-9]{1,18})/queue/")
ALLOW = "GET, POST, HEAD, OPTIONS"  # QueueView's methods, as DRF lists them
_ANY_QUEUE_PATH = "/api/v1/drops/1/queue/"  # for the route label (one per route, not per drop)
# The moment a request entered this process (wall clock, seconds), stamped by the WSGI entry
# (config/wsgi.py) before any handling: a join reports it (`arrived_at_us`), so arrival order can be
# told apart from the order in which the server's threads got round to the requests.
RECEIVED_AT = "mintdrop.received_at"


def join_body(meta: dict[str, Any], *, drop_id: int, buyer_id: int) -> dict[str, Any]:
    """`services.join`'s answer plus when the request reached the server (`meta`: the WSGI environ,
    or a Django request's META, which is the same dict); the view and the edge both answer with it."""
    arrived = meta.get(RECEIVED_AT) or time.time()
    return rooms.join(drop_id=drop_id, buyer_id=buyer_id) | {"arrived_at_us": int(arrived * 1_000_000)}


def retry_after(exc: WaitingRoomUnavailable) -> str:
    """The `Retry-After` of a paused room's 503 (the view and the edge both send it)."""
    return str(exc.details.get("retry_after", rooms.RETRY_AFTER_SECONDS))


def place_answer(
    environ: dict[str, Any], *, drop_id: int, buyer_id: int
) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
    """(status, body, extra headers) for this buyer's join (POST) or poll (GET), as QueueView answers."""
    try:
        if environ["REQUEST_METHOD"] == "POST":
            body = join_body(environ, drop_id=drop_id, buyer_id=buyer_id)
        else:
            body = rooms.queue_status(drop_id=drop_id, buyer_id=buyer_id)
    except ApplicationError as exc:  # the API's refusals (404, 409, 403 blocked, 503 paused)
        extra = []
        if isinstance(exc, WaitingRoomUnavailable):
            extra.append(("Retry-After", retry_after(exc)))
        return exc.http_status, error_body(exc.code, exc.message, exc.details), extra
    return 200, body, []


class QueueEdge:
    """Answers a waiting room's joins and polls with a valid API token; everything else goes on."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        match = QUEUE_PATH.fullmatch(str(environ.get("PATH_INFO", "")))
        if (
            match is None
            or environ.get("REQUEST_METHOD") not in ("GET", "POST")
            or not settings.COMMERCE_WAITING_ROOM_EDGE
            or redirects_to_https(environ)
        ):
            return self.app(environ, start_response)
        try:
            buyer_id = user_id_for_header(environ.get("HTTP_AUTHORIZATION"))
            if buyer_id is None:
                return self.app(environ, start_response)
            status, body, extra = place_answer(environ, drop_id=int(match[1]), buyer_id=buyer_id)
        except DatabaseError:
            return self.app(environ, start_response)  # Django answers 503 and resets the connection
        except Exception:  # a bug here: Django gives the request its own answer (and its 500 shape)
            log.exception("waiting-room edge failed; the request goes on to Django")
            return self.app(environ, start_response)
        route = route_label(_ANY_QUEUE_PATH)
        return answer(
            environ,
            start_response,
            status=status,
            body=body,
            route=route,
            allow=ALLOW,
            extra=extra,
            started=started,
        )
