"""Content-Security-Policy and Permissions-Policy on every response (Django 5.2 has neither built in).

A small middleware rather than the django-csp package: the policy is one fixed string per process
(built once from settings), no per-request nonces are needed because no template carries an inline
script, style or event-handler attribute, and it saves a dependency. Referrer-Policy, HSTS, nosniff
and X-Frame-Options come from Django's SecurityMiddleware / XFrameOptionsMiddleware.
"""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
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
