"""Admin for merchants, memberships, collections, products, SKUs and idempotency keys."""

from typing import Any

from django.contrib import admin

from commerce.models import IdempotencyKey, Merchant, MerchantMembership, NftCollection, Product, Sku


class MembershipInline(admin.TabularInline):
    model = MerchantMembership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "slug", "is_active", "settlement", "charges_enabled", "payouts_enabled"]
    list_filter = ["is_active", "settlement", "charges_enabled"]
    search_fields = ["name", "slug", "stripe_account_id"]
    prepopulated_fields = {"slug": ["name"]}
    # Stripe's view of the connected account: only signed account.updated webhooks change it.
    readonly_fields = [
        "created_at",
        "updated_at",
        "stripe_account_id",
        "charges_enabled",
        "payouts_enabled",
        "details_submitted",
        "stripe_account_synced_at",
    ]
    inlines = [MembershipInline]

    def save_model(self, request: Any, obj: Merchant, form: Any, change: bool) -> None:
        plan_changed = change and "fee_plan" in form.changed_data
        super().save_model(request, obj, form, change)
        if plan_changed:
            from commerce.admin.onboarding import merchant_fee_plan_saved

            merchant_fee_plan_saved(obj)


@admin.register(MerchantMembership)
class MerchantMembershipAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "merchant", "role", "created_at"]
    list_filter = ["role", "merchant"]
    search_fields = ["user__username", "user__email", "merchant__name"]
    autocomplete_fields = ["user", "merchant"]
    readonly_fields = ["created_at"]


@admin.register(NftCollection)
class NftCollectionAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "symbol", "merchant", "chain_id", "contract_address", "next_token_id"]
    list_filter = ["chain_id", "merchant"]
    search_fields = ["name", "symbol", "contract_address"]
    readonly_fields = ["next_token_id", "created_at"]


class SkuInline(admin.TabularInline):
    model = Sku
    extra = 0
    fields = ["code", "name", "price", "currency", "edition_size", "is_active"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "title",
        "kind",
        "phygital_delivery",
        "merchant",
        "collection",
        "is_active",
        "created_at",
    ]
    list_filter = ["kind", "phygital_delivery", "is_active", "merchant"]
    search_fields = ["title", "description", "skus__code"]
    list_select_related = ["merchant", "collection"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [SkuInline]


@admin.register(Sku)
class SkuAdmin(admin.ModelAdmin):
    list_display = ["id", "code", "name", "product", "price", "currency", "edition_size", "is_active"]
    list_filter = ["currency", "is_active", "product__kind"]
    search_fields = ["code", "name", "product__title"]
    list_select_related = ["product"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "key", "method", "path", "response_status", "created_at"]
    list_filter = ["response_status", "method"]
    search_fields = ["key", "user__username", "path"]
    readonly_fields = [f.name for f in IdempotencyKey._meta.fields]

    def has_add_permission(self, request):
        return False
