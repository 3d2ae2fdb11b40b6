"""The caller's API tokens (list, revoke one, sign out) and single-use WebSocket tickets."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.api.docs import errors
from commerce.api.serializers import ApiTokenSerializer, WsTicketSerializer
from commerce.services import tokens
from realtime.ws.tickets import issue_ticket


def _uid(request: Request) -> int:
    user_id = request.user.pk  # IsAuthenticated: never None here
    assert isinstance(user_id, int)
    return user_id


def _current_key(request: Request) -> str | None:
    return request.auth.token_key if isinstance(request.auth, AuthToken) else None


class TokenListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="My API tokens (not expired)",
        responses={200: ApiTokenSerializer(many=True), **errors(401)},
    )
    def get(self, request: Request) -> Response:
        current = _current_key(request)
        rows: list[dict[str, Any]] = [
            {
                "token_key": t.token_key,
                "created": t.created,
                "expiry": t.expiry,
                "current": t.token_key == current,
            }
            for t in tokens.user_tokens(user_id=_uid(request))[:100]
        ]
        return Response(ApiTokenSerializer(rows, many=True).data)


class TokenDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"], summary="Revoke one of my API tokens", responses={204: None, **errors(401, 404)}
    )
    def delete(self, request: Request, token_id: str) -> Response:
        tokens.revoke_token(user_id=_uid(request), token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutView(APIView):
    """Revoke the token this request is made with (`?all=1`: every token of the account)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], request=None, responses={204: None, **errors(401)})
    def post(self, request: Request) -> Response:
        current = _current_key(request)
        if request.query_params.get("all") == "1":
            tokens.revoke_all_tokens(user_id=_uid(request))
        elif current is not None:
            tokens.revoke_token(user_id=_uid(request), token_id=current)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WsTicketView(APIView):
    """A single-use ticket that authenticates one WebSocket within a few seconds (no token in the URL)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], request=None, responses={201: WsTicketSerializer, **errors(401)})
    def post(self, request: Request) -> Response:
        ticket = issue_ticket(user_id=_uid(request))
        body = {"ticket": ticket, "expires_in": settings.WS_TICKET_TTL_SECONDS}
        return Response(WsTicketSerializer(body).data, status=status.HTTP_201_CREATED)
