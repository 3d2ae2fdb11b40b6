"""Admin for what an operator of the chain layer looks at: mints, chain transactions, senders,
wallets and claims.

Everything is read-only: rows change only through services. The actions call the services the
beat jobs use (send a mint, re-send stored bytes, bump fees, heal a sender's nonces, re-send a
claim) and report what happened; no chain or business logic lives here.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from nft.errors import NftError
from nft.models import ChainTransaction, Claim, Collection, Mint, SenderAccount, Wallet
from nft.services.mints import send_mint
from nft.services.senders import heal_nonces
from nft.services.transactions import bump_fees, send_transaction
from nft.services.wallets import resend_claim


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by staff with the view/change permission; never added, edited or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields or [f.name for f in self.model._meta.fields]


class TransactionInline(admin.TabularInline):
    model = ChainTransaction
    extra = 0
    can_delete = False
    show_change_link = True
    fields = (
        "tx_hash",
        "kind",
        "nonce",
        "status",
        "send_attempts",
        "last_sent_at",
        "block_number",
        "last_error",
    )
    readonly_fields = fields
    ordering = ("pk",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MintTransactionInline(TransactionInline):
    fk_name = "mint"
    verbose_name_plural = "transactions (every signature, replacements included)"


class ClaimTransactionInline(TransactionInline):
    fk_name = "claim"
    verbose_name_plural = "transactions (gas top-up, transfer)"


def _tx_link(tx: ChainTransaction | None) -> str:
    if tx is None:
        return "-"
    url = reverse("admin:nft_chaintransaction_change", args=[tx.pk])
    return format_html('<a href="{}">{}</a>', url, tx.tx_hash)


def _run(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    label: str,
    rows: Iterable[Any],
    call: Callable[[Any], object],
) -> None:
    """Call a service per selected row; one message with what worked and what did not."""
    done, failed = 0, []
    for row in rows:
        try:
            call(row)
            done += 1
        except NftError as exc:
            failed.append(f"{row.pk}: {exc}")
    if done:
        modeladmin.message_user(request, f"{label}: {done} done.", messages.SUCCESS)
    if failed:
        modeladmin.message_user(request, f"{label} failed for " + "; ".join(failed), messages.ERROR)


@admin.register(Mint)
class MintAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "order_id",
        "line_id",
        "collection",
        "token_id",
        "to_address",
        "status",
        "created_at",
    )
    list_filter = ("status", "collection")
    search_fields = ("order_id", "line_id", "to_address")
    list_select_related = ("collection",)
    fields = (
        "order_id",
        "line_id",
        "collection",
        "token_id",
        "to_address",
        "status",
        "current_tx_link",
        "failure_reason",
        "metadata",
        "metadata_uri",
        "created_at",
        "updated_at",
        "confirmed_at",
    )
    inlines = (MintTransactionInline,)
    actions = ("send_selected",)

    @admin.display(description="current transaction")
    def current_tx_link(self, obj: Mint) -> str:
        return _tx_link(obj.current_tx)

    @admin.action(description="Send (sign once, or re-send the stored bytes; a dropped one is signed afresh)")
    def send_selected(self, request: HttpRequest, queryset: QuerySet[Mint]) -> None:
        _run(self, request, "Send mint", queryset.order_by("pk"), lambda m: send_mint(mint_id=m.pk))


@admin.register(ChainTransaction)
class ChainTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "tx_hash",
        "kind",
        "sender",
        "nonce",
        "status",
        "send_attempts",
        "last_sent_at",
        "block_number",
        "last_error",
    )
    list_filter = ("status", "kind", "chain_id")
    search_fields = ("tx_hash", "sender__address", "to_address")
    list_select_related = ("sender",)
    fields = (
        "chain_id",
        "tx_hash",
        "kind",
        "sender",
        "nonce",
        "to_address",
        "value",
        "gas_limit",
        "max_fee_per_gas",
        "max_priority_fee_per_gas",
        "status",
        "replaces",
        "mint",
        "claim",
        "send_attempts",
        "last_sent_at",
        "last_error",
        "block_number",
        "block_hash",
        "gas_used",
        "receipt_status",
        "confirmations",
        "data_hex",
        "raw_tx_hex",
        "created_at",
        "updated_at",
    )
    actions = ("resend_selected", "bump_fees_selected")

    @admin.display(description="data")
    def data_hex(self, obj: ChainTransaction) -> str:
        return "0x" + bytes(obj.data).hex()

    @admin.display(description="signed raw transaction")
    def raw_tx_hex(self, obj: ChainTransaction) -> str:
        return "0x" + bytes(obj.raw_tx).hex()

    @admin.action(description="Re-send the stored signed bytes (idempotent)")
    def resend_selected(self, request: HttpRequest, queryset: QuerySet[ChainTransaction]) -> None:
        rows = queryset.order_by("sender_id", "nonce")
        _run(self, request, "Re-send", rows, lambda tx: send_transaction(tx_id=tx.pk))

    @admin.action(description="Replace with today's fees (same nonce, >= 12.5 %% more) and send")
    def bump_fees_selected(self, request: HttpRequest, queryset: QuerySet[ChainTransaction]) -> None:
        rows = queryset.order_by("sender_id", "nonce")
        _run(self, request, "Bump fees", rows, lambda tx: bump_fees(tx_id=tx.pk))


@admin.register(SenderAccount)
class SenderAccountAdmin(ReadOnlyAdmin):
    list_display = ("address", "chain_id", "next_nonce", "custody_index", "updated_at")
    search_fields = ("address",)
    actions = ("heal_selected",)

    @admin.action(description="Heal the nonce counter against the chain (fill gaps with no-ops)")
    def heal_selected(self, request: HttpRequest, queryset: QuerySet[SenderAccount]) -> None:
        _run(self, request, "Heal nonces", queryset.order_by("pk"), lambda s: heal_nonces(sender_id=s.pk))


@admin.register(Collection)
class CollectionAdmin(ReadOnlyAdmin):
    list_display = ("symbol", "name", "address", "chain_id", "royalty_bps", "deploy_block", "created_at")
    search_fields = ("address", "name", "symbol")


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ("address", "kind", "user", "derivation_index", "created_at")
    list_filter = ("kind",)
    search_fields = ("address", "user__username", "user__email")
    list_select_related = ("user",)


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "user",
        "collection",
        "token_id",
        "from_address",
        "to_address",
        "status",
        "created_at",
    )
    list_filter = ("status",)
    search_fields = ("from_address", "to_address", "user__username")
    list_select_related = ("user", "collection")
    inlines = (ClaimTransactionInline,)
    actions = ("resend_selected",)

    @admin.action(description="Re-send the claim's unmined transactions (stored bytes)")
    def resend_selected(self, request: HttpRequest, queryset: QuerySet[Claim]) -> None:
        _run(self, request, "Re-send claim", queryset.order_by("pk"), lambda c: resend_claim(claim_id=c.pk))
