"""`@idempotent`: applies the Idempotency-Key contract to a DRF view's creating POST handler."""

import functools
from collections.abc import Callable
from typing import Any

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.services import idempotency

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Up to 255 characters. Same key + same body replays the first response (header "
        "`Idempotent-Replayed: true`) with no second effect; same key + another body -> 422 "
        "`idempotency_key_reused`."
    ),
)

Handler = Callable[..., Response]


class _RollBack(Exception):
    """Internal: a 5xx answer must not be stored, and its effect must not commit."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _request_data(request: Request) -> Any:
    data = request.data  # may raise ParseError -> 400 malformed_request, nothing claimed
    if hasattr(data, "lists"):
        return {k: v for k, v in data.lists()}
    return data


def _json_text(response: Response) -> str:
    """The body as the client gets it (DRF's JSON rendering), to store verbatim."""
    return JSONRenderer().render(response.data).decode() if response.data is not None else "null"


Precheck = Callable[[APIView, Request], Response | None]


def idempotent(handler: Handler | None = None, *, precheck: Precheck | None = None) -> Any:
    """Wrap `post(self, request, ...)`: with an Idempotency-Key the request runs at most once.

    `precheck(view, request)` may answer before anything is claimed, with a refusal it knows
    changes nothing (a 4xx); under a fresh key that answer is stored in one statement
    (`record_refusal`) so a retry replays it. Used as `@idempotent` or `@idempotent(precheck=f)`.
    """
    if handler is None:
        return functools.partial(idempotent, precheck=precheck)

    @functools.wraps(handler)
    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        early = precheck(view, request) if precheck is not None else None
        if early is not None:
            assert 400 <= early.status_code < 500, "a precheck only answers with a refusal"
        if key is None:
            return early if early is not None else handler(view, request, *args, **kwargs)
        idempotency.check_key(key)
        fingerprint = idempotency.fingerprint(
            method=request.method or "POST", path=request.path, data=_request_data(request)
        )
        user_id = request.user.pk if request.user.is_authenticated else None
        if early is not None and idempotency.record_refusal(
            user_id=user_id,
            key=key,
            fingerprint=fingerprint,
            method=request.method or "POST",
            path=request.path,
            status=early.status_code,
            body_json=_json_text(early),
        ):
            return early
        try:
            with transaction.atomic():
                outcome = idempotency.claim_key(
                    user_id=user_id,
                    key=key,
                    fingerprint=fingerprint,
                    method=request.method or "POST",
                    path=request.path,
                )
                if isinstance(outcome, idempotency.StoredResponse):
                    return Response(
                        outcome.body, status=outcome.status, headers={"Idempotent-Replayed": "true"}
                    )
                try:
                    response = handler(view, request, *args, **kwargs)
                except Exception as exc:
                    response = view.handle_exception(exc)
                if response.status_code >= 500:
                    raise _RollBack(response)
                idempotency.store_response(
                    claim=outcome, status=response.status_code, body_json=_json_text(response)
                )
                return response
        except _RollBack as rollback:
            return rollback.response

    return wrapper
