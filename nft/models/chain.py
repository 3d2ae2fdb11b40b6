"""Collections, senders with their nonce sequence, signed transactions and recent blocks."""

from django.db import models
from django.db.models import Q

from nft.models.fields import address_field, hash_field, uint256_field


class Collection(models.Model):
    """One deployed MintdropCollection contract."""

    chain_id = models.PositiveBigIntegerField()
    address = address_field()
    name = models.CharField(max_length=200)
    symbol = models.CharField(max_length=20)
    base_uri = models.CharField(max_length=500)
    royalty_receiver = address_field()
    royalty_bps = models.PositiveIntegerField()
    deployer = address_field()
    deploy_tx_hash = hash_field(blank=True, default="")
    deploy_block = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="nft_collection_chain_address_uniq"),
            models.CheckConstraint(
                condition=Q(royalty_bps__lte=10_000), name="nft_collection_royalty_bps_lte_10000"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.address} (chain {self.chain_id})"


class SenderAccount(models.Model):
    """An address we sign for, with the next nonce to hand out (taken under a row lock)."""

    chain_id = models.PositiveBigIntegerField()
    address = address_field()
    next_nonce = models.PositiveBigIntegerField()
    # Set for shoppers' custodial wallets (derived key); None for the signer.
    custody_index = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="nft_sender_chain_address_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.address} next nonce {self.next_nonce}"


class TxKind(models.TextChoices):
    DEPLOY = "deploy"
    MINT = "mint"
    CLAIM = "claim"
    FUND = "fund"  # gas top-up of a custodial wallet before its claim transfer
    REDEEM = "redeem"  # a custodial wallet redeems its phygital token
    NOOP = "noop"  # a 0-value self-transfer filling a nonce gap
    ROYALTY = "royalty"  # setDefaultRoyalty: the merchant's payout address changed


class TxStatus(models.TextChoices):
    SIGNED = "signed"  # stored; may or may not have reached the node
    SUBMITTED = "submitted"  # the node accepted it (or already knew it)
    INCLUDED = "included"  # in a canonical block, fewer than N confirmations
    CONFIRMED = "confirmed"  # N confirmations
    FAILED = "failed"  # mined but reverted (the nonce is used)
    REPLACED = "replaced"  # another transaction with the same nonce took its place
    DROPPED = "dropped"  # will never be mined (refused for good, or its nonce went elsewhere)


# Transactions that hold their (sender, nonce): at most one per nonce.
LIVE_STATUSES = (TxStatus.SIGNED, TxStatus.SUBMITTED, TxStatus.INCLUDED, TxStatus.CONFIRMED, TxStatus.FAILED)
UNMINED_STATUSES = (TxStatus.SIGNED, TxStatus.SUBMITTED)


class ChainTransaction(models.Model):
    """A signed transaction, stored before it is sent so a crash re-sends the same bytes."""

    chain_id = models.PositiveBigIntegerField()
    sender = models.ForeignKey(SenderAccount, on_delete=models.PROTECT, related_name="transactions")
    nonce = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=10, choices=TxKind.choices)
    to_address = address_field(blank=True, default="")
    value = uint256_field(default=0)
    data = models.BinaryField(default=b"")
    gas_limit = models.PositiveBigIntegerField()
    max_fee_per_gas = models.PositiveBigIntegerField()
    max_priority_fee_per_gas = models.PositiveBigIntegerField()
    raw_tx = models.BinaryField()
    tx_hash = hash_field(unique=True)
    status = models.CharField(max_length=10, choices=TxStatus.choices, default=TxStatus.SIGNED)
    replaces = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    mint = models.ForeignKey("nft.Mint", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey("nft.Claim", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    send_attempts = models.PositiveIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    block_hash = hash_field(blank=True, default="")
    gas_used = models.PositiveBigIntegerField(null=True, blank=True)
    receipt_status = models.PositiveSmallIntegerField(null=True, blank=True)  # 1 success, 0 reverted
    confirmations = models.PositiveIntegerField(default=0)
    # W3C traceparent of the span that signed it: sends and the confirmation continue that trace.
    traceparent = models.CharField(max_length=128, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "sender", "nonce"],
                condition=Q(status__in=[s.value for s in LIVE_STATUSES]),
                name="nft_tx_one_live_per_nonce",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "chain_id"], name="nft_tx_status_idx"),
            models.Index(fields=["sender", "nonce"], name="nft_tx_sender_nonce_idx"),
            models.Index(fields=["block_number"], name="nft_tx_block_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.tx_hash} nonce {self.nonce} {self.status}"


class Block(models.Model):
    """A recent canonical block as the confirmer saw it (a window; older rows are trimmed)."""

    chain_id = models.PositiveBigIntegerField()
    number = models.PositiveBigIntegerField()
    hash = hash_field()
    parent_hash = hash_field()
    timestamp = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "number"], name="nft_block_chain_number_uniq"),
        ]

    def __str__(self) -> str:
        return f"block {self.number} {self.hash}"
