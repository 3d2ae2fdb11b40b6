"""Content-Security-Policy and Permissions-Policy on every response (Django 5.2 has neither built in).

A small middleware rather than the django-csp package: the policy is one fixed string per process
(built once from settings), no per-request nonces are needed because no template carries an inline
script, style or event-handler attribute, and it saves a dependency. Referrer-Policy, HSTS, nosniff
and X-Frame-Options come from Django's SecurityMiddleware / XFrameOptionsMiddleware.
"""

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse


def _origin(url: str) -> str:
    """`scheme://host[:port]` of a URL, or "" when it has none."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy() -> str:
    """The policy from settings: same-origin everything, plus the ws origin and Stripe.js when used."""
    ws = _origin(settings.WS_PUBLIC_URL)
    stripe = "" if settings.PAYMENTS_DEMO_CONFIRM else _origin(settings.STRIPE_JS_URL)
    extra_connect = " ".join(settings.CSP_EXTRA_CONNECT_SRC)
    style_hashes = " ".join(f"'{h}'" for h in settings.CSP_STYLE_HASHES)
    directives = {
        "default-src": "'self'",
        # 'wasm-unsafe-eval' lets model-viewer's 3D decoders compile WebAssembly; it allows no JS eval.
        "script-src": f"'self' 'wasm-unsafe-eval' {stripe}",
        "style-src": f"'self' {style_hashes}",
        # Product pictures and 3D models may live on any HTTPS host (merchants paste URLs).
        "img-src": "'self' data: blob: https:",
        "media-src": "'self' blob: https:",  # hls.js plays video through MediaSource blobs
        "font-src": "'self' data:",
        # data:/blob: — glTF models carry their buffers inline; model-viewer fetches them.
        "connect-src": f"'self' {ws} {stripe} https: data: blob: {extra_connect}",
        "worker-src": "'self' blob:",
        "frame-src": stripe or "'none'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    policy = "; ".join(f"{name} {' '.join(value.split())}" for name, value in directives.items())
    if settings.SECURE_SSL_REDIRECT:
        policy += "; upgrade-insecure-requests"
    return policy


def is_secure(environ: dict[str, Any]) -> bool:
    """Django's `request.is_secure()` for a raw WSGI environ: the SECURE_PROXY_SSL_HEADER when the
    request carries it, else the scheme."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        if (value := environ.get(header)) is not None:
            return bool(str(value).split(",", 1)[0].strip() == secure_value)
    return environ.get("wsgi.url_scheme") == "https"


@functools.cache
def _static_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    headers = []
    if secure and settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        hsts += "; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else ""
        hsts += "; preload" if settings.SECURE_HSTS_PRELOAD else ""
        headers.append(("Strict-Transport-Security", hsts))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append(("Referrer-Policy", str(settings.SECURE_REFERRER_POLICY)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS))
    headers.append(("Content-Security-Policy", content_security_policy()))
    headers.append(("Permissions-Policy", settings.PERMISSIONS_POLICY))
    return tuple(headers)


def static_response_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The headers the middleware chain (Django's SecurityMiddleware and XFrameOptionsMiddleware, and
    SecurityHeadersMiddleware below) puts on an API answer, for answers given in front of Django
    (commerce/api/edge.py, commerce/waiting_room/edge.py). Built from the same settings, once per
    process (again after a settings change in tests); tests/commerce/waiting_room/test_edge.py and
    tests/commerce/test_reserve_edge.py compare them with Django's own."""
    return list(_static_headers(is_secure(environ)))


setting_changed.connect(lambda **kwargs: _static_headers.cache_clear(), weak=False)


def redirects_to_https(environ: dict[str, Any]) -> bool:
    """Whether Django's SecurityMiddleware would answer this request with a redirect to HTTPS
    (an edge then leaves the request to Django)."""
    return bool(settings.SECURE_SSL_REDIRECT) and not is_secure(environ)


class SecurityHeadersMiddleware:
    """Adds the two headers unless a view set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.csp = content_security_policy()
        self.permissions = settings.PERMISSIONS_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.csp)
        response.headers.setdefault("Permissions-Policy", self.permissions)
        return response
