"""The nft package's error tree (mapped to the API error shape by config.api_errors)."""

from config.errors import ApplicationError


class NftError(ApplicationError):
    code = "nft_error"


class ChainUnavailable(NftError):
    """The JSON-RPC node did not answer; the same call may succeed later."""

    code = "chain_unavailable"
    http_status = 503
    retriable = True


class ChainRejected(NftError):
    """The node refused a call or transaction for a reason that retrying will not fix."""

    code = "chain_rejected"
    http_status = 502


class CallReverted(ChainRejected):
    """An eth_call reverted (a view refused its arguments, e.g. a token that does not exist)."""

    code = "call_reverted"


class SignerNotConfigured(NftError):
    code = "signer_not_configured"
    http_status = 503


class UnknownCollection(NftError):
    code = "unknown_collection"
    http_status = 404


class MintConflict(NftError):
    """A mint for this order line already exists with a different collection or token id."""

    code = "mint_conflict"
    http_status = 409


class FeeCapExceeded(NftError):
    """Current network fees are above the configured cap; the transaction waits."""

    code = "fee_cap_exceeded"
    http_status = 503
    retriable = True


class TokenNotFound(NftError):
    code = "token_not_found"
    http_status = 404


class InvalidAddress(NftError):
    code = "invalid_address"
    http_status = 400


class SiweError(NftError):
    """A Sign-In with Ethereum message or signature was rejected (nothing was linked)."""

    code = "siwe_invalid"
    http_status = 400


class WalletConflict(NftError):
    code = "wallet_conflict"
    http_status = 409


class ClaimNotAllowed(NftError):
    code = "claim_not_allowed"
    http_status = 409


class NotRedeemable(NftError):
    """The token is not one that can be redeemed for a physical item (or is not minted yet)."""

    code = "not_redeemable"
    http_status = 409


class AlreadyRedeemed(NftError):
    code = "already_redeemed"
    http_status = 409


class NotTokenOwner(NftError):
    """The token is not held by one of the caller's wallets (only its current owner redeems it)."""

    code = "not_token_owner"
    http_status = 403


class RedemptionNotFound(NftError):
    code = "redemption_not_found"
    http_status = 404


class RedemptionTxInvalid(NftError):
    """A transaction hash posted for a redemption is not that token's `redeem` from its owner."""

    code = "redemption_tx_invalid"
    http_status = 422


class KeyStoreLocked(SignerNotConfigured):
    """The encrypted key store cannot be opened: no key, a wrong key, or a missing/altered file."""

    code = "keystore_locked"
