"""OpenAPI documentation of the NFT API: response shapes and the errors each endpoint can answer.

The views build plain dicts (selectors); these serializers only describe them for the schema, so
clients and the schemathesis run in tests/api/test_fuzz.py can check every answer against it.
"""

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from commerce.api.serializers import ErrorSerializer

_ERRORS = {
    400: "Invalid input (`validation_error`, `malformed_request`, `invalid_address`, `siwe_invalid`, "
    "`invalid_shipping_address`).",
    401: "Not logged in (`not_authenticated`, `authentication_failed`).",
    403: "Not the token's current owner (`not_token_owner`).",
    404: "Unknown or someone else's (`not_found`, `token_not_found`, `unknown_collection`, "
    "`redemption_not_found`).",
    409: "Conflict with the current state (`wallet_conflict`, `claim_not_allowed`, `not_redeemable`, "
    "`already_redeemed`, `mint_conflict`).",
    422: "Well-formed but not acceptable (`redemption_tx_invalid`).",
    502: "The chain node refused the call (`chain_rejected`, `call_reverted`).",
    503: "Retry later: chain node unreachable, fees above the cap, or no key configured "
    "(`chain_unavailable`, `fee_cap_exceeded`, `signer_not_configured`, `keystore_locked`).",
}


def nft_errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Response entries for `extend_schema(responses=...)` of the NFT endpoints."""
    return {s: OpenApiResponse(ErrorSerializer, description=_ERRORS[s]) for s in statuses}


class Doc(serializers.Serializer[Any]):
    """A serializer that only documents a response shape."""


class GasPriceDoc(Doc):
    chain_id = serializers.IntegerField()
    base_fee_per_gas = serializers.CharField(help_text="wei, decimal string")
    max_priority_fee_per_gas = serializers.CharField(help_text="wei, decimal string")
    max_fee_per_gas = serializers.CharField(help_text="wei, decimal string")
    max_fee_cap = serializers.CharField(help_text="wei, decimal string: we never pay more")


class AddressBalanceDoc(Doc):
    address = serializers.CharField()
    chain_id = serializers.IntegerField()
    balance_wei = serializers.CharField(help_text="decimal string")
    tokens = serializers.IntegerField(help_text="tokens of our collections it holds (as indexed)")


class OwnedTokenDoc(Doc):
    chain_id = serializers.IntegerField()
    contract = serializers.CharField()
    token_id = serializers.CharField(help_text="decimal string (uint256)")
    since_block = serializers.IntegerField()


class OwnerTokensDoc(Doc):
    address = serializers.CharField()
    tokens = OwnedTokenDoc(many=True)


class TokenMintDoc(Doc):
    status = serializers.CharField()
    order_id = serializers.IntegerField()
    line_id = serializers.IntegerField()
    tx_hash = serializers.CharField(allow_null=True)


class TokenDetailDoc(Doc):
    chain_id = serializers.IntegerField()
    contract = serializers.CharField()
    token_id = serializers.CharField()
    owner = serializers.CharField(allow_null=True)
    last_transfer_tx = serializers.CharField(allow_null=True)
    token_uri = serializers.CharField(allow_null=True)
    mint = TokenMintDoc(allow_null=True)


class TransactionStatusDoc(Doc):
    tx_hash = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    sender = serializers.CharField()
    nonce = serializers.IntegerField()
    to = serializers.CharField(allow_null=True)
    block_number = serializers.IntegerField(allow_null=True)
    block_hash = serializers.CharField(allow_null=True)
    confirmations = serializers.IntegerField()
    required_confirmations = serializers.IntegerField()
    max_fee_per_gas = serializers.CharField()
    max_priority_fee_per_gas = serializers.CharField()
    gas_used = serializers.IntegerField(allow_null=True)
    replaced_by = serializers.CharField(allow_null=True)


class SiweNonceDoc(Doc):
    nonce = serializers.CharField()
    expires_at = serializers.DateTimeField()
    domain = serializers.CharField()
    uri = serializers.CharField()
    chain_id = serializers.IntegerField()
    version = serializers.CharField()


class RedeemTransactionDoc(Doc):
    chain_id = serializers.IntegerField()
    to = serializers.CharField()
    value = serializers.CharField()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # `from` is a Python keyword and `data` a Serializer attribute: declared here instead.
        fields["from"] = serializers.CharField()
        fields["data"] = serializers.CharField(help_text="0x-hex call data")
        return fields


class RedemptionDoc(Doc):
    id = serializers.IntegerField()
    chain_id = serializers.IntegerField()
    contract = serializers.CharField()
    token_id = serializers.CharField()
    owner_address = serializers.CharField()
    wallet_kind = serializers.CharField()
    status = serializers.CharField()
    tx_hash = serializers.CharField(allow_null=True)
    shipping_address = serializers.DictField()
    failure_reason = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    transaction = RedeemTransactionDoc(
        required=False, help_text="Only while awaiting the wallet's signature: the call to sign and send."
    )
