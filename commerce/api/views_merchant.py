"""Merchant console endpoints under /merchants/<merchant_id>/: only members see or change its data."""

from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce import selectors
from commerce.api.docs import chain_errors, errors
from commerce.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from commerce.api.inputs import (
    CancelOrderInput,
    CollectionInput,
    DropInput,
    DropPatchInput,
    ProductInput,
    ProductPatchInput,
    RestockInput,
    SkuInput,
)
from commerce.api.serializers import (
    CollectionSerializer,
    DropItemSerializer,
    DropSerializer,
    OrderSerializer,
    ProductSerializer,
    SkuSerializer,
)
from commerce.errors import NotFound, OwnerRequired
from commerce.models import Merchant, MerchantRole
from commerce.services import catalog, drops
from commerce.services.cancellations import cancel_order
from commerce.services.collection_proofs import register_proven_collection


class MerchantView(APIView):
    """Resolves `merchant_id` to a merchant the user belongs to (or 404), and checks the member's role.

    Staff may do everything a view does not list in `owner_only` (HTTP methods); those answer 403
    `owner_required` to staff: refunds, payouts, members and collections are the owners' business.
    """

    permission_classes = [IsAuthenticated]
    owner_only: ClassVar[frozenset[str]] = frozenset()
    merchant: Merchant
    role: str

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        membership = selectors.membership_for(user=request.user, merchant_id=kwargs["merchant_id"])  # type: ignore[arg-type]
        self.merchant, self.role = membership.merchant, membership.role
        if request.method in self.owner_only and self.role != MerchantRole.OWNER:
            raise OwnerRequired(
                "Only an owner of this merchant may do this.",
                details={"merchant_id": self.merchant.pk, "role": self.role},
            )

    def valid(self, serializer_class: type, partial: bool = False) -> dict[str, Any]:
        data = serializer_class(data=self.request.data, partial=partial)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)


def _found(obj: Any, resource: str, pk: int) -> Any:
    if obj is None:
        raise NotFound(f"{resource.capitalize()} not found.", details={"resource": resource, "id": pk})
    return obj


class CollectionsView(MerchantView):
    owner_only = frozenset({"POST"})  # registering a collection lets the platform mint into it

    @extend_schema(tags=["merchant"], responses={200: CollectionSerializer(many=True), **errors(401, 404)})
    def get(self, request: Request, merchant_id: int) -> Response:
        rows = selectors.merchant_collections(merchant_id=self.merchant.pk)
        return Response(CollectionSerializer(rows, many=True).data)

    @extend_schema(
        tags=["merchant"],
        summary="Register a collection (owners only)",
        request=CollectionInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: CollectionSerializer, **errors(400, 401, 403, 404, 422), **chain_errors()},
        description="Register a contract the platform did not deploy for you: first get a challenge "
        "(POST .../collections/challenges/), have the contract's owner() or admin sign its `message`, "
        "then post the nonce and signature here. Nothing is stored unless the signer controls it on chain.",
    )
    @idempotent
    def post(self, request: Request, merchant_id: int) -> Response:
        collection = register_proven_collection(merchant_id=self.merchant.pk, **self.valid(CollectionInput))
        return Response(CollectionSerializer(collection).data, status=status.HTTP_201_CREATED)


class ProductsView(MerchantView):
    @extend_schema(tags=["merchant"], responses={200: ProductSerializer(many=True), **errors(401, 404)})
    def get(self, request: Request, merchant_id: int) -> Response:
        rows = selectors.merchant_products(merchant_id=self.merchant.pk)[:500]
        return Response(ProductSerializer(rows, many=True).data)

    @extend_schema(
        tags=["merchant"],
        request=ProductInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: ProductSerializer, **errors(400, 401, 404, 422)},
    )
    @idempotent
    def post(self, request: Request, merchant_id: int) -> Response:
        data = self.valid(ProductInput)
        skus = [catalog.SkuSpec(**spec) for spec in data.pop("skus")]
        product = catalog.create_product(merchant_id=self.merchant.pk, skus=skus, **data)
        product = selectors.merchant_products(merchant_id=self.merchant.pk).get(pk=product.pk)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailView(MerchantView):
    def _get(self, pk: int) -> Any:
        return _found(
            selectors.merchant_products(merchant_id=self.merchant.pk).filter(pk=pk).first(), "product", pk
        )

    @extend_schema(tags=["merchant"], responses={200: ProductSerializer, **errors(401, 404)})
    def get(self, request: Request, merchant_id: int, pk: int) -> Response:
        return Response(ProductSerializer(self._get(pk)).data)

    @extend_schema(
        tags=["merchant"],
        request=ProductPatchInput,
        responses={200: ProductSerializer, **errors(400, 401, 404, 422)},
    )
    def patch(self, request: Request, merchant_id: int, pk: int) -> Response:
        catalog.update_product(
            product_id=pk, merchant_id=self.merchant.pk, **self.valid(ProductPatchInput, partial=True)
        )
        return Response(ProductSerializer(self._get(pk)).data)


class ProductSkusView(MerchantView):
    @extend_schema(
        tags=["merchant"],
        request=SkuInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: SkuSerializer, **errors(400, 401, 404, 422)},
    )
    @idempotent
    def post(self, request: Request, merchant_id: int, pk: int) -> Response:
        sku = catalog.add_sku(
            product_id=pk, merchant_id=self.merchant.pk, spec=catalog.SkuSpec(**self.valid(SkuInput))
        )
        return Response(SkuSerializer(sku).data, status=status.HTTP_201_CREATED)


class DropsView(MerchantView):
    @extend_schema(tags=["merchant"], responses={200: DropSerializer(many=True), **errors(401, 404)})
    def get(self, request: Request, merchant_id: int) -> Response:
        rows = selectors.merchant_drops(merchant_id=self.merchant.pk)[:500]
        return Response(DropSerializer(rows, many=True).data)

    @extend_schema(
        tags=["merchant"],
        request=DropInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: DropSerializer, **errors(400, 401, 404, 422)},
    )
    @idempotent
    def post(self, request: Request, merchant_id: int) -> Response:
        data = self.valid(DropInput)
        items = [drops.DropItemSpec(**item) for item in data.pop("items")]
        drop = drops.create_drop(merchant_id=self.merchant.pk, items=items, **data)
        drop = selectors.merchant_drops(merchant_id=self.merchant.pk).get(pk=drop.pk)
        return Response(DropSerializer(drop).data, status=status.HTTP_201_CREATED)


class DropDetailView(MerchantView):
    def _get(self, pk: int) -> Any:
        return _found(
            selectors.merchant_drops(merchant_id=self.merchant.pk).filter(pk=pk).first(), "drop", pk
        )

    @extend_schema(tags=["merchant"], responses={200: DropSerializer, **errors(401, 404)})
    def get(self, request: Request, merchant_id: int, pk: int) -> Response:
        return Response(DropSerializer(self._get(pk)).data)

    @extend_schema(
        tags=["merchant"],
        summary="Edit a drop that has not started",
        request=DropPatchInput,
        responses={200: DropSerializer, **errors(400, 401, 404, 409, 422)},
    )
    def patch(self, request: Request, merchant_id: int, pk: int) -> Response:
        drops.update_drop(
            drop_id=pk, merchant_id=self.merchant.pk, **self.valid(DropPatchInput, partial=True)
        )
        return Response(DropSerializer(self._get(pk)).data)


DROP_ACTIONS = {
    "start": drops.start_drop,
    "pause": drops.pause_drop,
    "resume": drops.resume_drop,
    "end": drops.end_drop,
}


class DropActionView(MerchantView):
    @extend_schema(
        tags=["merchant"],
        summary="Run a drop action: start (early), pause, resume or end",
        request=None,
        responses={200: DropSerializer, **errors(401, 404, 409)},
    )
    def post(self, request: Request, merchant_id: int, pk: int, action: str) -> Response:
        DROP_ACTIONS[action](drop_id=pk, merchant_id=self.merchant.pk)
        return Response(
            DropSerializer(selectors.merchant_drops(merchant_id=self.merchant.pk).get(pk=pk)).data
        )


class DropRestockView(MerchantView):
    @extend_schema(
        tags=["merchant"],
        summary="Offer more units of a SKU in a drop",
        request=RestockInput,
        responses={200: DropItemSerializer, **errors(400, 401, 404, 409, 422)},
    )
    def post(self, request: Request, merchant_id: int, pk: int) -> Response:
        data = self.valid(RestockInput)
        item = drops.restock_drop_item(
            drop_id=pk, sku_id=data["sku_id"], added=data["quantity"], merchant_id=self.merchant.pk
        )
        return Response(DropItemSerializer(item).data)


class OrdersView(MerchantView):
    @extend_schema(tags=["merchant"], responses={200: OrderSerializer(many=True), **errors(401, 404)})
    def get(self, request: Request, merchant_id: int) -> Response:
        rows = selectors.merchant_orders(merchant_id=self.merchant.pk)[:500]
        return Response(OrderSerializer(rows, many=True).data)


class OrderDetailView(MerchantView):
    @extend_schema(tags=["merchant"], responses={200: OrderSerializer, **errors(401, 404)})
    def get(self, request: Request, merchant_id: int, pk: int) -> Response:
        order = _found(
            selectors.merchant_orders(merchant_id=self.merchant.pk).filter(pk=pk).first(), "order", pk
        )
        return Response(OrderSerializer(order).data)


class OrderCancelView(MerchantView):
    @extend_schema(
        tags=["merchant"],
        summary="Cancel an order awaiting payment (its stock is released)",
        request=CancelOrderInput,
        responses={200: OrderSerializer, **errors(400, 401, 404, 409)},
    )
    def post(self, request: Request, merchant_id: int, pk: int) -> Response:
        data = self.valid(CancelOrderInput)
        order = cancel_order(order_id=pk, merchant_id=self.merchant.pk, reason=data["reason"])
        return Response(OrderSerializer(order).data)
