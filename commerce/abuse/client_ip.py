"""The client's IP address, trusting X-Forwarded-For only as far as configured proxies vouch for it.

With ABUSE_NUM_PROXIES = 0 (the default) the header is ignored: anyone can write it, so a script
would pick a fresh "address" per request. With N > 0 the N-th address from the right is used —
the one the outermost of our N proxies saw — as DRF's `NUM_PROXIES` does (it is set to the same value).
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The address per-IP throttles and velocity rules count."""
    return client_ip_of(request.META)


def client_ip_of(meta: Mapping[str, Any]) -> str:
    """`client_ip` from a WSGI environ (request.META), for code in front of Django (commerce/api/edge.py)."""
    remote = str(meta.get("REMOTE_ADDR", ""))
    proxies = int(settings.ABUSE_NUM_PROXIES)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if proxies > 0 and forwarded:
        addresses = [a.strip() for a in str(forwarded).split(",") if a.strip()]
        if addresses:
            return addresses[-min(proxies, len(addresses))][:64]
    return remote
