"""Velocity rules outside the throttles: many accounts from one IP (cards per buyer: payment_limits)."""

from django.conf import settings
from django.http import HttpRequest

from commerce.abuse import limiter
from commerce.abuse.client_ip import client_ip
from commerce.abuse.flags import flag_buyer
from commerce.abuse.models import FlagRule
from commerce.abuse.rates import Rate


def note_account_created(*, user_id: int, request: HttpRequest) -> None:
    """Count a new account against its IP; past ABUSE_FLAG_ACCOUNTS_PER_IP_PER_HOUR the account is flagged."""
    threshold = int(settings.ABUSE_FLAG_ACCOUNTS_PER_IP_PER_HOUR)
    ip = client_ip(request)
    if threshold <= 0 or not ip:
        return
    for seen in limiter.hit([("velocity.accounts", ip, Rate(threshold, 3600))]):  # none if Redis is down
        if not seen.over:
            continue
        flag_buyer(
            buyer_id=user_id,
            rule=FlagRule.ACCOUNTS_PER_IP,
            reason=f"account {seen.count} created from {ip} within the hour (rule: more than {threshold})",
            detail={"ip": ip, "count": seen.count, "threshold": threshold},
        )
