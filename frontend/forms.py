"""Merchant console forms: products (with up to three SKUs) and drops (quantity per SKU)."""

from decimal import Decimal
from typing import Any

from django import forms

from commerce import money
from commerce.addresses import MAX_CITY, MAX_LINE, MAX_NAME, MAX_PHONE, MAX_POSTAL_CODE, MAX_REGION
from commerce.carriers import CARRIERS
from commerce.models import PhygitalDelivery, ProductKind, Sku

MAX_SKUS = 3


# Currencies the console offers (any ISO 4217 code works through the API).
CURRENCY_CHOICES = [(c, c.upper()) for c in ("usd", "eur", "gbp", "chf", "jpy", "krw", "kwd", "bhd")]


def to_minor(amount: Decimal | None, currency: str = "usd") -> int | None:
    """A price as typed in the form (major units) -> integer minor units of `currency` (ISO exponent)."""
    return None if amount is None else money.to_minor(amount, currency)


class ProductForm(forms.Form):
    kind = forms.ChoiceField(choices=ProductKind.choices)
    title = forms.CharField(max_length=200)
    description = forms.CharField(max_length=10_000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    image_url = forms.URLField(max_length=500, required=False, label="Image URL", assume_scheme="https")
    model_url = forms.URLField(
        assume_scheme="https",
        max_length=500,
        required=False,
        label="3D model URL (.glb)",
        help_text="Shown as a 3D preview.",
    )
    collection = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="NFT collection")
    phygital_delivery = forms.ChoiceField(
        choices=PhygitalDelivery.choices,
        initial=PhygitalDelivery.SHIP_WITH_PURCHASE,
        required=False,
        label="Phygital delivery",
        help_text="Phygital only: ship the item with the purchase, or when the owner redeems the token.",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Visible in the shop")
    currency = forms.ChoiceField(
        choices=CURRENCY_CHOICES,
        initial="usd",
        required=False,
        help_text="Prices are typed in this currency's major unit (JPY has no decimals, KWD has three).",
    )

    def __init__(self, *args: Any, collections: list[tuple[int, str]], editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["collection"].choices = [("", "— none (physical only) —"), *collections]  # type: ignore[attr-defined]
        self.editing = editing
        if editing:  # kind, collection and SKUs are fixed once created (see commerce.services.catalog)
            for name in ("kind", "collection"):
                self.fields[name].disabled = True
                self.fields[name].required = False
        for i in range(MAX_SKUS if not editing else 0):
            required = i == 0
            self.fields[f"sku{i}_code"] = forms.CharField(
                max_length=64, required=required, label=f"SKU {i + 1} code"
            )
            self.fields[f"sku{i}_name"] = forms.CharField(
                max_length=200, required=False, label="Variant name"
            )
            self.fields[f"sku{i}_price"] = forms.DecimalField(
                min_value=Decimal("0"),
                max_digits=12,
                decimal_places=3,
                required=required,
                label="Price",
            )
            self.fields[f"sku{i}_edition"] = forms.IntegerField(
                min_value=1, max_value=1_000_000, required=False, label="NFT edition size"
            )

    def sku_rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"sku{i}_{f}"] for f in ("code", "name", "price", "edition")]
            for i in range(MAX_SKUS)
            if f"sku{i}_code" in self.fields
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            not self.editing
            and data.get("kind") in (ProductKind.DIGITAL, ProductKind.PHYGITAL)
            and not data.get("collection")
        ):
            self.add_error("collection", "Digital and phygital products mint an NFT: pick a collection.")
        delivery = data.get("phygital_delivery") or PhygitalDelivery.SHIP_WITH_PURCHASE
        kind = data.get("kind") or self.initial.get("kind")
        if kind != ProductKind.PHYGITAL and delivery != PhygitalDelivery.SHIP_WITH_PURCHASE:
            self.add_error("phygital_delivery", "Only phygital products can be redeemed later.")
        data["phygital_delivery"] = delivery
        currency = data.get("currency") or "usd"
        data["currency"] = currency
        for i in range(MAX_SKUS if not self.editing else 0):
            price = data.get(f"sku{i}_price")
            if data.get(f"sku{i}_code") and price is None:
                self.add_error(f"sku{i}_price", "Give this SKU a price.")
            elif price is not None:
                try:
                    money.to_minor(price, currency)
                except ValueError:
                    places = money.exponent(currency)
                    self.add_error(
                        f"sku{i}_price", f"{currency.upper()} prices have {places} decimal places."
                    )
        return data

    def skus(self) -> list[dict[str, Any]]:
        rows = []
        for i in range(MAX_SKUS):
            code = self.cleaned_data.get(f"sku{i}_code")
            if code:
                rows.append(
                    {
                        "code": code,
                        "name": self.cleaned_data.get(f"sku{i}_name") or "",
                        "price": to_minor(
                            self.cleaned_data.get(f"sku{i}_price"), self.cleaned_data["currency"]
                        )
                        or 0,
                        "currency": self.cleaned_data["currency"],
                        "edition_size": self.cleaned_data.get(f"sku{i}_edition"),
                    }
                )
        return rows

    def metadata(self, base: dict[str, Any] | None = None) -> dict[str, Any]:
        meta = dict(base or {})
        for key, field in (("image", "image_url"), ("animation_url", "model_url")):
            if self.cleaned_data.get(field):
                meta[key] = self.cleaned_data[field]
            else:
                meta.pop(key, None)
        return meta


class DropForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(max_length=10_000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    starts_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="UTC. Start it early from the live room if you like.",
    )
    ends_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    per_buyer_limit = forms.IntegerField(min_value=1, max_value=100, initial=2, label="Limit per buyer")

    def __init__(self, *args: Any, skus: list[Sku], editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.skus = skus if not editing else []
        for sku in self.skus:
            self.fields[f"qty_{sku.pk}"] = forms.IntegerField(
                min_value=0,
                max_value=1_000_000,
                required=False,
                initial=0,
                label=f"{sku.product.title} {sku.name or sku.code}",
            )

    def quantity_fields(self) -> list[tuple[Sku, forms.BoundField]]:
        return [(sku, self[f"qty_{sku.pk}"]) for sku in self.skus]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.skus and not any(data.get(f"qty_{s.pk}") for s in self.skus):
            raise forms.ValidationError("Offer at least one unit of one SKU.")
        if data.get("ends_at") and data.get("starts_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", "The end must be after the start.")
        return data

    def items(self) -> list[dict[str, int]]:
        return [
            {"sku_id": sku.pk, "quantity": self.cleaned_data[f"qty_{sku.pk}"]}
            for sku in self.skus
            if self.cleaned_data.get(f"qty_{sku.pk}")
        ]


class ShippingAddressForm(forms.Form):
    """The checkout's address fields; `commerce.addresses` validates them again (the one source of truth)."""

    name = forms.CharField(max_length=MAX_NAME, label="Full name")
    line1 = forms.CharField(max_length=MAX_LINE, label="Address line 1")
    line2 = forms.CharField(max_length=MAX_LINE, required=False, label="Address line 2")
    city = forms.CharField(max_length=MAX_CITY)
    region = forms.CharField(max_length=MAX_REGION, required=False, label="State / region")
    postal_code = forms.CharField(max_length=MAX_POSTAL_CODE, label="Postal code")
    country = forms.ChoiceField(label="Country")
    phone = forms.CharField(max_length=MAX_PHONE, required=False, label="Phone (optional)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import pycountry

        super().__init__(*args, **kwargs)
        countries = sorted((c.alpha_2, c.name) for c in pycountry.countries)
        self.fields["country"].choices = [("", "— choose —"), *sorted(countries, key=lambda c: c[1])]  # type: ignore[attr-defined]


class ShipForm(forms.Form):
    """Console: hand a shipment to a carrier."""

    carrier = forms.ChoiceField(choices=[(c.code, c.name) for c in CARRIERS.values()])
    tracking_number = forms.CharField(max_length=64, label="Tracking number")


class CannotShipForm(forms.Form):
    reason = forms.CharField(max_length=200, label="Why it cannot ship")


class InviteMemberForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username")
    role = forms.ChoiceField(choices=[("staff", "Staff"), ("owner", "Owner")], initial="staff")


class MemberRoleForm(forms.Form):
    user_id = forms.IntegerField(min_value=1, max_value=2**62)
    role = forms.ChoiceField(choices=[("staff", "Staff"), ("owner", "Owner")])


class RemoveMemberForm(forms.Form):
    user_id = forms.IntegerField(min_value=1, max_value=2**62)


class PayoutForm(forms.Form):
    payout_address = forms.RegexField(
        regex=r"^0x[0-9a-fA-F]{40}$", max_length=42, label="Payout address (receives royalties)"
    )
    royalty_bps = forms.IntegerField(min_value=0, max_value=10_000, label="Royalty (basis points)")
