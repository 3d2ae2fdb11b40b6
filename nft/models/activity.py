"""Watched-wallet activity: Transfer / ApprovalForAll logs a shopper's wallet was a party to."""

from django.db import models
from django.db.models import Q

from nft.models.fields import address_field, hash_field, uint256_field


class ActivityKind(models.TextChoices):
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    APPROVAL_FOR_ALL = "approval_for_all"  # the wallet let an operator move all its tokens
    APPROVAL_REVOKED = "approval_revoked"  # ... and took that back


class TokenStandard(models.TextChoices):
    ERC721 = "erc721"
    ERC20 = "erc20"
    UNKNOWN = "unknown"  # ApprovalForAll of a contract that is not ours (ERC-721 or ERC-1155)


class WalletActivity(models.Model):
    """One log as seen from one watched wallet; a log between two watched wallets is two rows.

    Rows live at the chain head: a reorg that drops the block removes the row (and says so with
    `wallet.activity_removed`); the log mined again in the replacement chain records it anew.
    """

    chain_id = models.PositiveBigIntegerField()
    wallet = models.ForeignKey("nft.Wallet", on_delete=models.CASCADE, related_name="activity")
    kind = models.CharField(max_length=20, choices=ActivityKind.choices)
    token_standard = models.CharField(max_length=10, choices=TokenStandard.choices)
    contract = address_field()
    token_id = uint256_field(null=True, blank=True)  # ERC-721 transfers
    amount = uint256_field(null=True, blank=True)  # ERC-20 transfers, in base units
    counterparty = address_field()  # the other side of a transfer, or the approved operator
    ours = models.BooleanField(default=False)  # the contract is one of our collections
    operator_known = models.BooleanField(null=True, blank=True)  # approvals: operator is a platform address
    tx_hash = hash_field()
    log_index = models.PositiveIntegerField()
    block_number = models.PositiveBigIntegerField()
    block_hash = hash_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "wallet activity"
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "tx_hash", "log_index", "wallet"], name="nft_activity_log_wallet_uniq"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["approval_for_all", "approval_revoked"], operator_known__isnull=False)
                | Q(kind__in=["transfer_in", "transfer_out"], operator_known__isnull=True),
                name="nft_activity_operator_known_on_approvals",
            ),
        ]
        indexes = [
            models.Index(fields=["wallet", "-id"], name="nft_activity_feed_idx"),
            models.Index(fields=["chain_id", "block_number"], name="nft_activity_block_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.contract} {self.tx_hash}:{self.log_index} ({self.wallet_id})"


class WalletWatchCursor(models.Model):
    """How far the wallet watcher has scanned a chain, with the hashes of the blocks it scanned.

    Written in the same transaction as the activity rows of those blocks, so a crash never leaves
    rows past the cursor or a cursor past missing rows. `recent_hashes` ({"<number>": "<hash>"}, the
    last NFT_BLOCK_WINDOW blocks) is what finds the fork point after a reorg.
    """

    chain_id = models.PositiveBigIntegerField(unique=True)
    block_number = models.PositiveBigIntegerField()
    block_hash = hash_field()
    recent_hashes = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"wallet watch on chain {self.chain_id} at block {self.block_number}"
