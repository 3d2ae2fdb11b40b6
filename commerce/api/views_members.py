"""A merchant's settings (payout address) and team (members and their roles): owners change them."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from commerce import selectors
from commerce.api.docs import chain_errors, errors
from commerce.api.inputs import MemberInput, MemberRoleInput, MerchantSettingsInput
from commerce.api.serializers import MemberSerializer, MerchantSettingsSerializer
from commerce.api.views_merchant import MerchantView
from commerce.services import members
from commerce.services.collections import change_payout_address


class MerchantSettingsView(MerchantView):
    owner_only = frozenset({"PATCH"})  # where the money goes

    @extend_schema(tags=["merchant"], responses={200: MerchantSettingsSerializer, **errors(401, 404)})
    def get(self, request: Request, merchant_id: int) -> Response:
        return Response(MerchantSettingsSerializer(self.merchant).data)

    @extend_schema(
        tags=["merchant"],
        summary="Change the payout address / royalty (owners only)",
        request=MerchantSettingsInput,
        responses={200: MerchantSettingsSerializer, **errors(400, 401, 403, 404, 422), **chain_errors()},
        description="The ERC-2981 royalty receiver of every collection the platform deployed for the merchant is "
        "changed on chain first (one transaction each, receipt awaited), then the settings.",
    )
    def patch(self, request: Request, merchant_id: int) -> Response:
        data = self.valid(MerchantSettingsInput)
        merchant = change_payout_address(
            merchant_id=self.merchant.pk, address=data["payout_address"], royalty_bps=data.get("royalty_bps")
        )
        return Response(MerchantSettingsSerializer(merchant).data)


class MembersView(MerchantView):
    owner_only = frozenset({"POST"})

    @extend_schema(tags=["merchant"], responses={200: MemberSerializer(many=True), **errors(401, 404)})
    def get(self, request: Request, merchant_id: int) -> Response:
        rows = selectors.merchant_members(merchant_id=self.merchant.pk)[:500]
        return Response(MemberSerializer(rows, many=True).data)

    @extend_schema(
        tags=["merchant"],
        summary="Add an existing account to the team (owners only)",
        request=MemberInput,
        responses={201: MemberSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, merchant_id: int) -> Response:
        data = self.valid(MemberInput)
        membership = members.invite_member(
            merchant_id=self.merchant.pk, username=data["username"], role=data["role"]
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(MerchantView):
    owner_only = frozenset({"PATCH", "DELETE"})

    @extend_schema(
        tags=["merchant"],
        summary="Make a member owner or staff (owners only; the last owner cannot step down)",
        request=MemberRoleInput,
        responses={200: MemberSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, merchant_id: int, user_id: int) -> Response:
        data = self.valid(MemberRoleInput)
        membership = members.change_member_role(
            merchant_id=self.merchant.pk, user_id=user_id, role=data["role"]
        )
        return Response(MemberSerializer(membership).data)

    @extend_schema(
        tags=["merchant"],
        summary="Remove a member (owners only; the last owner cannot be removed)",
        responses={204: None, **errors(401, 403, 404, 409)},
    )
    def delete(self, request: Request, merchant_id: int, user_id: int) -> Response:
        members.remove_member(merchant_id=self.merchant.pk, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
