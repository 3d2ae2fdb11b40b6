"""Public catalog and drops (no login needed), and account endpoints (sign-up, API token)."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce import selectors
from commerce.abuse.throttles import SignupThrottle, TokenThrottle
from commerce.abuse.velocity import note_account_created
from commerce.api.docs import errors
from commerce.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from commerce.api.inputs import LoginInput, SignupInput
from commerce.api.serializers import (
    AvailabilitySerializer,
    DropSerializer,
    ProductSerializer,
    TokenSerializer,
)
from commerce.errors import UsernameTaken
from config.errors import ApplicationError


class AuthFailed(ApplicationError):
    code = "authentication_failed"
    http_status = 401


@extend_schema(tags=["catalog"], responses={200: ProductSerializer(many=True), **errors(400)})
class ProductListView(generics.ListAPIView):
    """Active products of all merchants; filter with `?merchant=<id>` and `?kind=physical|digital|phygital`."""

    permission_classes = [AllowAny]
    serializer_class = ProductSerializer

    def get_queryset(self):
        qs = selectors.public_products()
        merchant, kind = self.request.query_params.get("merchant"), self.request.query_params.get("kind")
        if merchant and merchant.isdigit():
            qs = qs.filter(merchant_id=int(merchant))
        if kind:
            qs = qs.filter(kind=kind)
        return qs


@extend_schema(tags=["catalog"], responses={200: ProductSerializer, **errors(404)})
class ProductDetailView(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = ProductSerializer

    def get_queryset(self):
        return selectors.public_products()


@extend_schema(tags=["drops"], responses={200: DropSerializer(many=True), **errors(400)})
class DropListView(generics.ListAPIView):
    """Drops with their items and live stock; filter with `?state=live` (comma-separated)."""

    permission_classes = [AllowAny]
    serializer_class = DropSerializer

    def get_queryset(self):
        qs = selectors.public_drops()
        states = self.request.query_params.get("state")
        if states:
            qs = qs.filter(state__in=states.split(",")[:5])
        return qs


@extend_schema(tags=["drops"], responses={200: DropSerializer, **errors(404)})
class DropDetailView(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = DropSerializer

    def get_queryset(self):
        return selectors.public_drops()


class DropAvailabilityView(APIView):
    """Just the live counters of a drop (cheap: one query)."""

    permission_classes = [AllowAny]

    @extend_schema(tags=["drops"], responses={200: AvailabilitySerializer, **errors(404)})
    def get(self, request: Request, pk: int) -> Response:
        return Response(AvailabilitySerializer(selectors.drop_availability(drop_id=pk)).data)


def _token_body(user: User) -> dict[str, object]:
    token, _ = Token.objects.get_or_create(user=user)
    return {"token": token.key, "user_id": user.pk, "username": user.username}


class SignupView(APIView):
    """Create a shopper account and get its API token."""

    permission_classes = [AllowAny]
    authentication_classes = []  # no session, so no CSRF check for a first visit
    throttle_classes = [SignupThrottle]  # per IP (commerce/abuse/throttles.py)

    @extend_schema(
        tags=["auth"],
        request=SignupInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: TokenSerializer, **errors(400, 409, 422, 429)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = SignupInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    username=data.validated_data["username"],
                    password=data.validated_data["password"],
                    email=data.validated_data.get("email", ""),
                )
                if user.email:  # the address is confirmed by a link before notification mail goes there
                    from notifications.services.accounts import send_verification

                    send_verification(user=user)
                body = _token_body(user)
            note_account_created(user_id=user.pk, request=request)  # velocity: accounts per IP
        except IntegrityError:
            raise UsernameTaken("This username is taken.", details={"field": "username"}) from None
        return Response(body, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    """Exchange username + password for the account's API token (`Authorization: Token <key>`)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [TokenThrottle]  # per username tried and per IP

    @extend_schema(
        tags=["auth"], request=LoginInput, responses={200: TokenSerializer, **errors(400, 401, 429)}
    )
    def post(self, request: Request) -> Response:
        data = LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.filter(username=data.validated_data["username"], is_active=True).first()
        if user is None or not user.check_password(data.validated_data["password"]):
            raise AuthFailed("Wrong username or password.")
        return Response(_token_body(user))
