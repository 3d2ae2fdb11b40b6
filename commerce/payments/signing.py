"""Stripe's webhook signature scheme, for the simulator and the tests (verification uses stripe-python).

Header: `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
"""

import hashlib
import hmac
import time


def stripe_signature(payload: bytes, *, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header value Stripe would send for `payload` signed with `secret`."""
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"
