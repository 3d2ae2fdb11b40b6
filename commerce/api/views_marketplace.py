"""Marketplace endpoints: seller applications, the merchant's Stripe Connect account and onboarding
link, its money (balance, payouts, fee per order, CSV export), and the platform's fee plans."""

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.api.docs import errors
from commerce.api.idempotency import IDEMPOTENCY_HEADER
from commerce.api.views_merchant import MerchantView
from commerce.errors import InvalidApplication, InvalidFeePlan, NotConnectMerchant
from commerce.models import SellerApplication, Settlement
from commerce.payments import merchant_money
from commerce.payments.services.connect import create_onboarding_link
from commerce.services import fees, onboarding


class SellerApplicationInput(serializers.Serializer):
    store_name = serializers.CharField(max_length=200)
    contact_name = serializers.CharField(max_length=200)
    contact_email = serializers.EmailField(max_length=254)
    what_they_sell = serializers.CharField(max_length=2000)
    country = serializers.CharField(min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2")


class SellerApplicationSerializer(serializers.ModelSerializer):
    class Meta:
        model = SellerApplication
        fields = [
            "id",
            "store_name",
            "contact_name",
            "contact_email",
            "what_they_sell",
            "country",
            "status",
            "reject_reason",
            "merchant",
            "created_at",
            "reviewed_at",
        ]


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        if hasattr(data, "dict"):
            return dict(data.dict())
        raise InvalidApplication("The body must be a JSON object.", details={"fields": {}})
    return dict(data)


class SellerApplicationsView(APIView):
    """Apply to sell on the platform; a platform admin reviews the application."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["marketplace"], responses={200: SellerApplicationSerializer(many=True), **errors(401)}
    )
    def get(self, request: Request) -> Response:
        rows = SellerApplication.objects.filter(applicant_id=request.user.pk)[:50]
        return Response(SellerApplicationSerializer(rows, many=True).data)

    @extend_schema(
        tags=["marketplace"],
        summary="Apply to become a seller",
        request=SellerApplicationInput,
        responses={201: SellerApplicationSerializer, **errors(400, 401, 409)},
        description="Every field is required; an incomplete application is refused (400 `invalid_application`, "
        "`details.fields` lists each problem) and nothing is stored. One application may wait for review at a time "
        "(409 `application_not_pending`).",
    )
    def post(self, request: Request) -> Response:
        application = onboarding.submit_application(applicant=request.user, data=_body(request))  # type: ignore[arg-type]
        return Response(SellerApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


class StripeAccountSerializer(serializers.Serializer):
    settlement = serializers.ChoiceField(choices=Settlement.choices)
    stripe_account_id = serializers.CharField(allow_blank=True)
    charges_enabled = serializers.BooleanField()
    payouts_enabled = serializers.BooleanField()
    details_submitted = serializers.BooleanField()
    can_open_drops = serializers.BooleanField(source="can_take_charges")


class OnboardingLinkSerializer(serializers.Serializer):
    url = serializers.URLField()
    expires_at = serializers.IntegerField()


class StripeAccountView(MerchantView):
    @extend_schema(tags=["merchant"], responses={200: StripeAccountSerializer, **errors(401, 404)})
    def get(self, request: Request, merchant_id: int) -> Response:
        return Response(StripeAccountSerializer(self.merchant).data)


class OnboardingLinkView(MerchantView):
    owner_only = frozenset({"POST"})  # where the money goes

    @extend_schema(
        tags=["merchant"],
        summary="Stripe onboarding link (owners only)",
        request=None,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: OnboardingLinkSerializer, **errors(401, 403, 404, 409, 502, 503)},
        description="Creates the merchant's Stripe Connect Express account on first use, then a fresh onboarding "
        "link (they expire within minutes). The same Idempotency-Key returns the same link. A merchant settled on "
        "the platform's account answers 409 `not_connect_merchant`.",
    )
    def post(self, request: Request, merchant_id: int) -> Response:
        if self.merchant.settlement != Settlement.CONNECT:
            raise NotConnectMerchant(
                "This shop is paid through the platform's own account; ask the platform to move it to Stripe Connect.",
                details={"merchant_id": self.merchant.pk, "settlement": self.merchant.settlement},
            )
        key = (request.headers.get("Idempotency-Key") or "")[:100] or None
        link = create_onboarding_link(merchant_id=self.merchant.pk, request_key=key)
        return Response({"url": link.url, "expires_at": link.expires_at}, status=status.HTTP_201_CREATED)


class MoneyAmountSerializer(serializers.Serializer):
    amount = serializers.IntegerField()
    currency = serializers.CharField()


class PayoutSerializer(serializers.Serializer):
    id = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    arrival_date = serializers.IntegerField()
    status = serializers.CharField()


class OrderMoneySerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    created_at = serializers.CharField()
    status = serializers.CharField()
    currency = serializers.CharField()
    gross = serializers.IntegerField()
    fee = serializers.IntegerField()
    refunded = serializers.IntegerField()
    fee_refunded = serializers.IntegerField()
    net = serializers.IntegerField()


class MoneySerializer(serializers.Serializer):
    available = MoneyAmountSerializer(many=True)
    pending = MoneyAmountSerializer(many=True)
    payouts = PayoutSerializer(many=True)
    source = serializers.ChoiceField(choices=["stripe", "cache", "none", "unavailable"])  # type: ignore[assignment]
    orders = OrderMoneySerializer(many=True)


class MoneyView(MerchantView):
    owner_only = frozenset({"GET"})  # balances and payouts are the owners' business

    @extend_schema(
        tags=["merchant"],
        summary="Balance, upcoming payouts and fee per order (owners only)",
        responses={200: MoneySerializer, **errors(401, 403, 404)},
        description="Balance and payouts come from Stripe (the connected account), cached for a minute; amounts are "
        "integer minor units of each currency (ISO 4217 exponent).",
    )
    def get(self, request: Request, merchant_id: int) -> Response:
        data = merchant_money.stripe_money(merchant=self.merchant)
        rows = merchant_money.order_money(merchant_id=self.merchant.pk, limit=200)
        return Response({**data, "orders": [OrderMoneySerializer(r).data for r in rows]})


class MoneyCsvView(MerchantView):
    owner_only = frozenset({"GET"})

    @extend_schema(
        tags=["merchant"],
        summary="Orders as CSV: gross, fee, refunds, net (owners only)",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row per paid order."),
            **errors(401, 403, 404),
        },
    )
    def get(self, request: Request, merchant_id: int) -> HttpResponse:
        response = HttpResponse(
            merchant_money.orders_csv(merchant_id=self.merchant.pk), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="orders-{self.merchant.slug}.csv"'
        return response


class FeePlanInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    percent_bps = serializers.IntegerField(help_text="0..10000 basis points; above 100 % is refused.")
    fixed_fees = serializers.DictField(child=serializers.IntegerField(), required=False, default=dict)


class FeePlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    percent_bps = serializers.IntegerField()
    fixed_fees = serializers.DictField(child=serializers.IntegerField())


class FeePlansView(APIView):
    """The platform's fee plans (platform staff only)."""

    permission_classes = [IsAdminUser]

    @extend_schema(tags=["platform"], responses={200: FeePlanSerializer(many=True), **errors(401, 403)})
    def get(self, request: Request) -> Response:
        from commerce.models import FeePlan

        return Response(FeePlanSerializer(FeePlan.objects.all()[:200], many=True).data)

    @extend_schema(
        tags=["platform"],
        summary="Create or change a fee plan",
        request=FeePlanInput,
        responses={200: FeePlanSerializer, **errors(400, 401, 403)},
        description="A percentage above 100 % (10000 bps), a negative fixed fee or a non-ISO currency is refused "
        "(400 `invalid_fee_plan`) and nothing changes.",
    )
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        if not isinstance(data.get("name"), str):
            raise InvalidFeePlan("A plan needs a name.", details={"field": "name"})
        plan = fees.save_fee_plan(
            name=data["name"],
            percent_bps=data.get("percent_bps"),  # type: ignore[arg-type]
            fixed_fees=data.get("fixed_fees", {}),
        )
        return Response(FeePlanSerializer(plan).data)
