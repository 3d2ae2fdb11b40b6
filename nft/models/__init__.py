"""Tables of the chain layer: collections, the transaction manager, blocks, tokens, wallets, wallet activity."""

from nft.models.activity import ActivityKind, TokenStandard, WalletActivity, WalletWatchCursor
from nft.models.chain import Block, ChainTransaction, Collection, SenderAccount, TxKind, TxStatus
from nft.models.redemptions import Redemption, RedemptionStatus
from nft.models.tokens import Mint, MintStatus, TokenOwnership, TransferLog
from nft.models.wallets import Claim, ClaimStatus, SiweNonce, Wallet, WalletKind

__all__ = [
    "ActivityKind",
    "Block",
    "ChainTransaction",
    "Claim",
    "ClaimStatus",
    "Collection",
    "Mint",
    "MintStatus",
    "Redemption",
    "RedemptionStatus",
    "SenderAccount",
    "SiweNonce",
    "TokenOwnership",
    "TokenStandard",
    "TransferLog",
    "TxKind",
    "TxStatus",
    "Wallet",
    "WalletActivity",
    "WalletKind",
    "WalletWatchCursor",
]
