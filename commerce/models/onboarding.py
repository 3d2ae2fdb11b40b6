"""Seller applications (how a merchant comes to exist) and the platform's fee plans."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class SellerApplication(models.Model):
    """Someone asking to sell on the platform; an admin approves (a merchant is created) or rejects."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seller_applications"
    )
    store_name = models.CharField(max_length=200)
    contact_name = models.CharField(max_length=200)
    contact_email = models.EmailField(max_length=254)
    what_they_sell = models.TextField(max_length=2000)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, where the business is based.")
    status = models.CharField(
        max_length=10, choices=ApplicationStatus.choices, default=ApplicationStatus.PENDING
    )
    reject_reason = models.CharField(max_length=500, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    merchant = models.OneToOneField(
        "commerce.Merchant", on_delete=models.SET_NULL, null=True, blank=True, related_name="application"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One application waiting at a time per person.
            models.UniqueConstraint(
                fields=["applicant"], condition=Q(status="pending"), name="seller_application_one_pending"
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reject_reason=""),
                name="seller_application_reject_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_name} ({self.status})"


class FeePlan(models.Model):
    """The platform's fee on a merchant's sales: a percentage plus a fixed amount per currency.

    `fixed_fees` maps ISO 4217 codes to minor units ({"usd": 30, "jpy": 40}); a currency it does not
    list has no fixed part. The fee of a charge is capped at the charge (Stripe refuses more).
    """

    name = models.CharField(max_length=100, unique=True)
    percent_bps = models.PositiveIntegerField(help_text="Basis points of the amount (250 = 2.5 %).")
    fixed_fees = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(percent_bps__lte=10_000), name="fee_plan_percent_lte_100"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.percent_bps / 100:g} %)"
