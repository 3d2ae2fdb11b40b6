"""Admin: flags raised by velocity rules, merchants' blocks, identities counted at payment."""

from django.contrib import admin

from commerce.abuse.models import BuyerBlock, BuyerFlag, PaymentIdentity


@admin.register(BuyerFlag)
class BuyerFlagAdmin(admin.ModelAdmin):
    list_display = ("buyer", "drop", "rule", "reason", "hits", "last_seen_at")
    list_filter = ("rule",)
    search_fields = ("buyer__username", "reason")
    raw_id_fields = ("buyer", "drop")


@admin.register(BuyerBlock)
class BuyerBlockAdmin(admin.ModelAdmin):
    """Blocks made here emit no event (use the live room or the API for a logged block)."""

    list_display = ("buyer", "merchant", "drop", "reason", "blocked_by", "created_at")
    search_fields = ("buyer__username", "reason")
    raw_id_fields = ("buyer", "merchant", "drop", "blocked_by")


@admin.register(PaymentIdentity)
class PaymentIdentityAdmin(admin.ModelAdmin):
    list_display = ("order", "drop", "buyer", "units", "card_fingerprint", "wallet", "created_at")
    search_fields = ("card_fingerprint", "wallet", "buyer__username")
    raw_id_fields = ("order", "drop", "buyer")
    readonly_fields = ("order", "drop", "buyer", "units", "card_fingerprint", "wallet", "created_at")
