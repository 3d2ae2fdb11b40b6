"""Mints of order lines, indexed Transfer logs and current token ownership."""

from django.db import models

from nft.models.fields import address_field, hash_field, uint256_field


class MintStatus(models.TextChoices):
    REQUESTED = "requested"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FAILED = "failed"


class Mint(models.Model):
    """The token of one order line: at most one per line, here and in the contract."""

    order_id = models.PositiveBigIntegerField()
    line_id = models.PositiveBigIntegerField(unique=True)
    collection = models.ForeignKey("nft.Collection", on_delete=models.PROTECT, related_name="mints")
    token_id = uint256_field()
    to_address = address_field()
    status = models.CharField(max_length=10, choices=MintStatus.choices, default=MintStatus.REQUESTED)
    current_tx = models.ForeignKey(
        "nft.ChainTransaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the token metadata endpoint serves: name, description, image, animation_url, attributes...
    metadata = models.JSONField(default=dict, blank=True)
    metadata_uri = models.CharField(max_length=500, blank=True, default="")
    failure_reason = models.CharField(max_length=1000, blank=True, default="")
    # W3C traceparent of the span that requested the mint: the Celery send continues that trace.
    traceparent = models.CharField(max_length=128, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collection", "token_id"], name="nft_mint_collection_token_uniq"),
        ]
        indexes = [models.Index(fields=["status"], name="nft_mint_status_idx")]

    def __str__(self) -> str:
        return f"mint line {self.line_id} token {self.token_id} {self.status}"


class TransferLog(models.Model):
    """One ERC-721 Transfer event of one of our collections, unique per (chain, tx, log index)."""

    chain_id = models.PositiveBigIntegerField()
    tx_hash = hash_field()
    log_index = models.PositiveIntegerField()
    block_number = models.PositiveBigIntegerField()
    block_hash = hash_field()
    contract = address_field()
    from_address = address_field()
    to_address = address_field()
    token_id = uint256_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "tx_hash", "log_index"], name="nft_transferlog_chain_tx_index_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["chain_id", "contract", "token_id"], name="nft_transferlog_token_idx"),
            models.Index(fields=["chain_id", "block_number"], name="nft_transferlog_block_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contract}#{self.token_id} {self.from_address} -> {self.to_address}"


class TokenOwnership(models.Model):
    """Who holds a token now, as of the latest indexed Transfer (rolled back on reorg)."""

    chain_id = models.PositiveBigIntegerField()
    contract = address_field()
    token_id = uint256_field()
    owner = address_field(db_index=True)
    block_number = models.PositiveBigIntegerField()
    log_index = models.PositiveIntegerField()
    tx_hash = hash_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "contract", "token_id"], name="nft_ownership_chain_contract_token_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract}#{self.token_id} owned by {self.owner}"
