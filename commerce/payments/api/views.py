"""Payment step of checkout: thin views over `services.intents`."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.api.docs import errors
from commerce.payments import selectors
from commerce.payments.errors import NotFound
from commerce.payments.models import SavedCard
from commerce.payments.services import saved_cards
from commerce.payments.services.intents import demo_confirm_payment, start_payment


class PaymentStartSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    payment_intent_id = serializers.CharField()
    client_secret = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    publishable_key = serializers.CharField()


class DemoConfirmInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["succeeded", "failed"], default="succeeded")


@extend_schema(
    tags=["payments"],
    request=None,
    responses={200: PaymentStartSerializer, **errors(401, 404, 409, 502, 503)},
)
class PayOrderView(APIView):
    """Create (or return) the order's Stripe PaymentIntent; the client secret goes to Stripe.js."""

    permission_classes = [IsAuthenticated]

    def post(self, request: Request, pk: int) -> Response:
        started = start_payment(order_id=pk, buyer_id=request.user.pk)
        return Response(
            {
                "order_id": started.order_id,
                "payment_intent_id": started.payment_intent_id,
                "client_secret": started.client_secret,
                "amount": started.amount,
                "currency": started.currency,
                "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            }
        )


@extend_schema(
    tags=["payments"], request=DemoConfirmInput, responses={202: None, **errors(400, 401, 404, 409, 502, 503)}
)
class DemoConfirmView(APIView):
    """Demo (stripe-mock) only: confirm the PaymentIntent, then deliver the signed webhook Stripe would send."""

    permission_classes = [IsAuthenticated]

    def post(self, request: Request, pk: int) -> Response:
        data = DemoConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = demo_confirm_payment(
            order_id=pk, buyer_id=request.user.pk, outcome=data.validated_data["outcome"]
        )
        return Response({"order_id": pk, "webhook": outcome}, status=202)


@extend_schema(tags=["payments"], responses={200: dict, **errors(401, 404)})
class OrderPaymentView(APIView):
    """The buyer's view of the order's payment, refunds and saga timeline."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request, pk: int) -> Response:
        summary = selectors.payment_summary(order_id=pk, buyer_id=request.user.pk)
        if summary is None:
            raise NotFound("Order not found.", details={"resource": "order", "id": pk})
        return Response(summary)


class SavedCardSerializer(serializers.Serializer):
    brand = serializers.CharField()
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField(allow_null=True)
    exp_year = serializers.IntegerField(allow_null=True)
    consented_at = serializers.DateTimeField()
    consent_text = serializers.CharField()


class SavedCardStateSerializer(serializers.Serializer):
    card = SavedCardSerializer(allow_null=True)
    consent_text = serializers.CharField(help_text="What the buyer agrees to when saving a card.")


class SaveCardInput(serializers.Serializer):
    payment_method = serializers.RegexField(
        r"^pm_[A-Za-z0-9_]{1,200}$",
        help_text="A Stripe PaymentMethod id from Stripe.js (demo: pm_card_visa).",
    )
    consent = serializers.BooleanField(help_text=f"Must be true: {saved_cards.CONSENT_TEXT}")


def _me(request: Request) -> int:
    pk = request.user.pk
    assert pk is not None  # IsAuthenticated: a signed-in user
    return int(pk)


def _card_state(card: SavedCard | None) -> dict[str, object]:
    shown = None
    if card is not None:
        shown = {
            "brand": card.brand,
            "last4": card.last4,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "consented_at": card.consented_at,
            "consent_text": card.consent_text,
        }
    return {
        "card": SavedCardSerializer(shown).data if shown else None,
        "consent_text": saved_cards.CONSENT_TEXT,
    }


class SavedCardView(APIView):
    """The buyer's card saved for auction wins (charged off-session, with their consent)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["payments"], responses={200: SavedCardStateSerializer, **errors(401)})
    def get(self, request: Request) -> Response:
        return Response(_card_state(saved_cards.active_card(user_id=_me(request))))

    @extend_schema(
        tags=["payments"],
        request=SaveCardInput,
        responses={201: SavedCardStateSerializer, **errors(400, 401, 409, 502, 503)},
    )
    def post(self, request: Request) -> Response:
        data = SaveCardInput(data=request.data)
        data.is_valid(raise_exception=True)
        card = saved_cards.save_card(
            user_id=_me(request),
            payment_method=data.validated_data["payment_method"],
            consent=data.validated_data["consent"],
        )
        return Response(_card_state(card), status=201)

    @extend_schema(tags=["payments"], responses={204: None, **errors(401, 404, 502, 503)})
    def delete(self, request: Request) -> Response:
        if not saved_cards.remove_card(user_id=_me(request)):
            raise NotFound("No saved card.", details={"resource": "saved_card"})
        return Response(status=204)
