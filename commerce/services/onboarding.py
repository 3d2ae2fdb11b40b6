"""Seller onboarding: an application, its review by a platform admin, and the merchant it becomes.

The Stripe side (connected account, onboarding link, account.updated) is in
commerce.payments.services.connect; this module never calls Stripe.
"""

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from commerce.errors import ApplicationNotPending, InvalidApplication, NotFound
from commerce.models import (
    ApplicationStatus,
    Merchant,
    MerchantMembership,
    MerchantRole,
    SellerApplication,
    Settlement,
)
from realtime.outbox import emit

_COUNTRY = re.compile(r"^[A-Z]{2}$")
LIMITS = {"store_name": 200, "contact_name": 200, "contact_email": 254, "what_they_sell": 2000}


@dataclass(frozen=True)
class ApplicationInput:
    store_name: str
    contact_name: str
    contact_email: str
    what_they_sell: str
    country: str


def check_application(data: dict[str, Any]) -> ApplicationInput:
    """Validate an application without writing; every missing or invalid field is listed at once."""
    problems: dict[str, str] = {}
    values: dict[str, str] = {}
    for field, limit in LIMITS.items():
        raw = data.get(field)
        value = raw.strip() if isinstance(raw, str) else ""
        if not value:
            problems[field] = "This field is required."
        elif len(value) > limit:
            problems[field] = f"At most {limit} characters."
        values[field] = value
    if "contact_email" not in problems:
        try:
            validate_email(values["contact_email"])
        except ValidationError:
            problems["contact_email"] = "Not an e-mail address."
    raw_country = data.get("country")
    country = raw_country.strip().upper() if isinstance(raw_country, str) else ""
    if not _COUNTRY.match(country):
        problems["country"] = "A two-letter country code (ISO 3166-1), e.g. US or JP."
    if problems:
        raise InvalidApplication(
            "The application is incomplete: " + ", ".join(sorted(problems)) + ".",
            details={"fields": problems},
        )
    return ApplicationInput(country=country, **values)


def submit_application(*, applicant: User, data: dict[str, Any]) -> SellerApplication:
    """Record a seller application for review (one pending per person); emits merchant.application_submitted."""
    checked = check_application(data)
    try:
        with transaction.atomic():
            application = SellerApplication.objects.create(
                applicant=applicant,
                store_name=checked.store_name,
                contact_name=checked.contact_name,
                contact_email=checked.contact_email,
                what_they_sell=checked.what_they_sell,
                country=checked.country,
            )
            emit(
                type="merchant.application_submitted",
                key=f"application-{application.pk}",
                payload={
                    "application_id": application.pk,
                    "applicant_id": applicant.pk,
                    "store_name": application.store_name,
                    "country": application.country,
                },
            )
    except IntegrityError:
        raise ApplicationNotPending(
            "You already have an application waiting for review.", details={"applicant_id": applicant.pk}
        ) from None
    return application


def _locked_pending(application_id: int) -> SellerApplication:
    application = SellerApplication.objects.select_for_update().filter(pk=application_id).first()
    if application is None:
        raise NotFound(
            "Application not found.", details={"resource": "seller_application", "id": application_id}
        )
    if application.status != ApplicationStatus.PENDING:
        raise ApplicationNotPending(
            f"This application was already {application.status}.", details={"status": application.status}
        )
    return application


def _free_slug(name: str) -> str:
    base = slugify(name)[:80] or "shop"
    slug = base
    while Merchant.objects.filter(slug=slug).exists():
        slug = f"{base}-{uuid.uuid4().hex[:6]}"
    return slug


def approve_application(*, application_id: int, reviewer: User) -> SellerApplication:
    """Approve: a Connect merchant owned by the applicant is created (no Stripe call here; drops stay
    closed until its connected account can take charges). Emits merchant.application_reviewed."""
    with transaction.atomic():
        application = _locked_pending(application_id)
        merchant = Merchant.objects.create(
            name=application.store_name,
            slug=_free_slug(application.store_name),
            settlement=Settlement.CONNECT,
        )
        MerchantMembership.objects.create(
            user=application.applicant, merchant=merchant, role=MerchantRole.OWNER
        )
        application.status = ApplicationStatus.APPROVED
        application.reviewed_by = reviewer
        application.reviewed_at = timezone.now()
        application.merchant = merchant
        application.save()
        _emit_review(application)
    return application


def reject_application(*, application_id: int, reviewer: User, reason: str) -> SellerApplication:
    """Reject with a reason the applicant is told (required). Emits merchant.application_reviewed."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidApplication("A rejection needs a reason.", details={"fields": {"reason": "Required."}})
    with transaction.atomic():
        application = _locked_pending(application_id)
        application.status = ApplicationStatus.REJECTED
        application.reject_reason = reason[:500]
        application.reviewed_by = reviewer
        application.reviewed_at = timezone.now()
        application.save()
        _emit_review(application)
    return application


def _emit_review(application: SellerApplication) -> None:
    emit(
        type="merchant.application_reviewed",
        key=f"application-{application.pk}",
        payload={
            "application_id": application.pk,
            "applicant_id": application.applicant_id,
            "decision": application.status,
            "reason": application.reject_reason,
            "merchant_id": application.merchant_id,
            "reviewed_by": application.reviewed_by_id,
        },
    )
