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
