"""Merchant endpoint that issues the challenge a contract's owner signs before the contract is registered."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from commerce.api.docs import errors
from commerce.api.inputs import CollectionTargetInput
from commerce.api.views_merchant import MerchantView
from commerce.services.collection_proofs import issue_collection_challenge


class CollectionChallengeSerializer(serializers.Serializer):
    nonce = serializers.CharField()
    message = serializers.CharField(help_text="Sign exactly this text (EIP-191 personal_sign).")
    chain_id = serializers.IntegerField()
    contract_address = serializers.CharField()
    expires_at = serializers.DateTimeField()


class CollectionChallengeView(MerchantView):
    owner_only = frozenset({"POST"})  # the first step of registering a collection (owners only)

    @extend_schema(
        tags=["merchant"],
        summary="A challenge for a contract's owner to sign (single use, short-lived)",
        request=CollectionTargetInput,
        responses={201: CollectionChallengeSerializer, **errors(400, 401, 403, 404, 422)},
    )
    def post(self, request: Request, merchant_id: int) -> Response:
        challenge = issue_collection_challenge(
            merchant_id=self.merchant.pk, **self.valid(CollectionTargetInput)
        )
        return Response(CollectionChallengeSerializer(challenge).data, status=status.HTTP_201_CREATED)
