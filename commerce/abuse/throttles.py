"""DRF throttles for sign-up, token and reserve, and the same limits for the HTML log-in and sign-up.

Each action is counted per user (the account; for sign-in the username tried, so one account's
password cannot be guessed from many addresses) and per client IP (`client_ip`), in Redis through
`limiter.hit` (one round trip for every scope of the request). Over a limit: DRF answers 429 with
the error shape and `Retry-After` before the view runs, so nothing is changed. A logged-in buyer who
hits a throttle, or reserves faster than ABUSE_FLAG_RESERVES_PER_MINUTE, is flagged for the drop.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from commerce.abuse import limiter
from commerce.abuse.client_ip import client_ip
from commerce.abuse.flags import flag_buyer
from commerce.abuse.models import FlagRule
from commerce.abuse.rates import Rate, rates_for
from commerce.api import edge
from config.api_errors import error_body


def _username(request: HttpRequest | Request) -> str:
    data: Any = getattr(request, "data", None)
    if data is None:
        data = request.POST
    raw = data.get("username") if hasattr(data, "get") else None
    return str(raw).strip().lower()[:150] if raw else ""


def _drop_id(request: Request) -> int | None:
    data: Any = request.data
    raw = data.get("drop_id") if hasattr(data, "get") else None
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw < 2**63 else None


def check(
    action: str,
    request: HttpRequest | Request,
    *,
    user_key: str,
    watch: list[tuple[str, str, Rate]] | None = None,
) -> list[limiter.Hit]:
    """Count the request against `<action>.user` and `<action>.ip` (those configured), then `watch`."""
    counters: list[tuple[str, str, Rate]] = []
    for scope, ident in ((f"{action}.user", user_key), (f"{action}.ip", client_ip(request))):
        if ident:
            counters.extend((scope, ident, rate) for rate in rates_for(scope))
    return limiter.hit(counters + (watch or []))


class ActionThrottle(BaseThrottle):
    """Per user and per IP limits of one action (`action`), rates from ABUSE_THROTTLE_RATES."""

    action: ClassVar[str] = ""

    def user_key(self, request: Request) -> str:
        user = getattr(request, "user", None)
        return str(user.pk) if user is not None and user.is_authenticated else ""

    def watch(self, request: Request) -> list[tuple[str, str, Rate]]:
        """Counters that only watch (velocity rules), counted in the same round trip."""
        return []

    def watched(self, request: Request, hits: list[limiter.Hit]) -> None:
        """What the watching counters saw (only called when the request is allowed)."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        self._wait: int | None = None
        if not settings.ABUSE_THROTTLE_ENABLED or request.method != "POST":  # reads are not actions
            return True
        watch = self.watch(request)
        hits = check(self.action, request, user_key=self.user_key(request), watch=watch)
        limits, watching = hits[: len(hits) - len(watch)], hits[len(hits) - len(watch) :]
        over = [h for h in limits if h.over]
        if over:
            self._wait = max(h.retry_after for h in over)
            self.on_throttled(request, over)
            return False
        self.watched(request, watching)
        return True

    def on_throttled(self, request: Request, over: list[limiter.Hit]) -> None:
        if self.action == "reserve":  # its next reserves are refused in front of Django
            edge.box(
                request.META, scopes=[h.scope for h in over], retry_after=max(h.retry_after for h in over)
            )
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            flag_buyer(
                buyer_id=user.pk,
                drop_id=_drop_id(request) if self.action == "reserve" else None,
                rule=FlagRule.THROTTLED,
                reason=f"throttled on {self.action} ({', '.join(h.scope for h in over)})",
                detail={"scopes": [h.scope for h in over], "ip": client_ip(request)},
            )

    def wait(self) -> float | None:
        return self._wait


class SignupThrottle(ActionThrottle):
    action = "signup"


class TokenThrottle(ActionThrottle):
    action = "token"

    def user_key(self, request: Request) -> str:
        return _username(request)


class ReserveThrottle(ActionThrottle):
    """The reserve endpoint; also flags a buyer reserving faster than a person clicks."""

    action = "reserve"

    def watch(self, request: Request) -> list[tuple[str, str, Rate]]:
        threshold, user_key = int(settings.ABUSE_FLAG_RESERVES_PER_MINUTE), self.user_key(request)
        return [("velocity.reserve", user_key, Rate(threshold, 60))] if threshold > 0 and user_key else []

    def watched(self, request: Request, hits: list[limiter.Hit]) -> None:
        for seen in hits:
            if seen.over:
                flag_buyer(
                    buyer_id=int(self.user_key(request)),
                    drop_id=_drop_id(request),
                    rule=FlagRule.RESERVE_RATE,
                    reason=f"{seen.count} reserve attempts within a minute (rule: more than {seen.rate.limit})",
                    detail={"count": seen.count, "threshold": seen.rate.limit, "ip": client_ip(request)},
                )


def throttle_form_post(action: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """The same per-user / per-IP limit on a plain Django form view (log-in, sign-up pages), POST only."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST" and settings.ABUSE_THROTTLE_ENABLED:
                over = [h for h in check(action, request, user_key=_username(request)) if h.over]
                if over:
                    return throttled_response(request, max(h.retry_after for h in over))
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def throttled_response(request: HttpRequest, wait: int) -> HttpResponse:
    """429 with `Retry-After`: the error shape for API clients, a short page for browsers."""
    message = f"Too many attempts. Try again in {wait} seconds."
    response: HttpResponse
    if "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse(error_body("throttled", message, {"retry_after": wait}), status=429)
    else:
        response = HttpResponse(
            f"<!doctype html><title>Too many attempts</title><p>{message}</p>", status=429
        )
    response["Retry-After"] = str(wait)
    return response
