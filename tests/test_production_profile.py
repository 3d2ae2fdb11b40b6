"""The production profile (DJANGO_ENV=production) refuses unsafe settings; with safe ones `check --deploy`
is clean and every page carries HSTS, secure cookies, a CSP without inline script, and the policies."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from config.production import (
    ANVIL_PUBLIC_MNEMONIC,
    DEV_SECRET_KEY,
    DEV_STRIPE_SECRET_KEY,
    DEV_WEBHOOK_SECRET,
    unsafe_settings,
)

ROOT = Path(__file__).resolve().parent.parent
ANVIL_KEY_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
SAFE: dict[str, Any] = {
    "DEBUG": False,
    "SECRET_KEY": "k" + secrets.token_urlsafe(60),
    "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(24),
    "STRIPE_SECRET_KEY": "sk_live_" + secrets.token_hex(12),
    "PAYMENTS_DEMO_CONFIRM": False,
    "CHAIN_ID": 8453,
    "NFT_CUSTODY_MNEMONIC": "",
    "NFT_SIGNER_PRIVATE_KEY": "",
}
# (setting changed, its unsafe value, words the refusal must contain) — one row per refusal.
UNSAFE = [
    ("DEBUG", True, "DEBUG is on"),
    ("SECRET_KEY", DEV_SECRET_KEY, "DJANGO_SECRET_KEY is the development key"),
    ("SECRET_KEY", "short-but-random-0123", "DJANGO_SECRET_KEY is too weak"),
    ("STRIPE_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET, "STRIPE_WEBHOOK_SECRET is the known development secret"),
    ("STRIPE_WEBHOOK_SECRET", "", "STRIPE_WEBHOOK_SECRET"),
    ("STRIPE_SECRET_KEY", DEV_STRIPE_SECRET_KEY, "STRIPE_SECRET_KEY is stripe-mock's development key"),
    ("PAYMENTS_DEMO_CONFIRM", True, "PAYMENTS_DEMO_CONFIRM is on"),
    (
        "NFT_CUSTODY_MNEMONIC",
        ANVIL_PUBLIC_MNEMONIC.upper(),
        "NFT_CUSTODY_MNEMONIC is anvil's public test mnemonic",
    ),
    ("NFT_SIGNER_PRIVATE_KEY", ANVIL_KEY_1, "NFT_SIGNER_PRIVATE_KEY is one of anvil's public test keys"),
]


def test_safe_settings_pass() -> None:
    assert unsafe_settings(SAFE) == []


@pytest.mark.parametrize(("name", "value", "words"), UNSAFE, ids=[f"{n}={str(v)[:12]}" for n, v, _ in UNSAFE])
def test_each_unsafe_setting_is_named(name: str, value: Any, words: str) -> None:
    problems = unsafe_settings({**SAFE, name: value})
    assert len(problems) == 1 and words in problems[0], problems


def test_anvil_keys_are_fine_on_the_local_chain() -> None:
    local = {**SAFE, "CHAIN_ID": 31337, "NFT_CUSTODY_MNEMONIC": ANVIL_PUBLIC_MNEMONIC}
    assert unsafe_settings({**local, "NFT_SIGNER_PRIVATE_KEY": ANVIL_KEY_1}) == []


# --- the real thing: processes started with the profile ------------------------------------------------
def _safe_env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STRIPE_", "NFT_", "PAYMENTS_"))
    }
    env.update(
        DJANGO_ENV="production",
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=str(SAFE["SECRET_KEY"]),
        DJANGO_ALLOWED_HOSTS="shop.example.com",
        STRIPE_WEBHOOK_SECRET=str(SAFE["STRIPE_WEBHOOK_SECRET"]),
        STRIPE_SECRET_KEY=str(SAFE["STRIPE_SECRET_KEY"]),
        CHAIN_ID="8453",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_check_deploy_is_clean_with_safe_settings() -> None:
    result = _manage(_safe_env(), "check", "--deploy", "--fail-level", "WARNING", "--tag", "security")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


ENV_UNSAFE = [
    ("DJANGO_DEBUG", "true", "DEBUG is on"),
    ("DJANGO_SECRET_KEY", DEV_SECRET_KEY, "DJANGO_SECRET_KEY is the development key"),
    ("STRIPE_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET, "STRIPE_WEBHOOK_SECRET is the known development secret"),
    ("PAYMENTS_DEMO_CONFIRM", "true", "PAYMENTS_DEMO_CONFIRM is on"),
    ("NFT_CUSTODY_MNEMONIC", ANVIL_PUBLIC_MNEMONIC, "NFT_CUSTODY_MNEMONIC is anvil's public test mnemonic"),
    ("NFT_SIGNER_PRIVATE_KEY", ANVIL_KEY_1, "NFT_SIGNER_PRIVATE_KEY is one of anvil's public test keys"),
]


@pytest.mark.parametrize(("var", "value", "words"), ENV_UNSAFE, ids=[v for v, _, _ in ENV_UNSAFE])
def test_manage_py_refuses_to_start(var: str, value: str, words: str) -> None:
    result = _manage({**_safe_env(), var: value}, "check", "--deploy")
    assert result.returncode != 0
    assert "DJANGO_ENV=production refuses to start" in result.stderr and words in result.stderr, result.stderr


def test_the_wsgi_app_refuses_to_load_with_development_defaults() -> None:
    env = {k: v for k, v in _safe_env().items() if k not in ("DJANGO_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")}
    result = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr and "STRIPE_WEBHOOK_SECRET" in result.stderr


PROBE = """
import json, django
django.setup()
from django.test import Client
c = Client(HTTP_HOST="shop.example.com")
plain = c.get("/login/")
secure = c.get("/login/", secure=True)
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location", "")],
    "headers": dict(secure.headers),
    "cookies": {k: {"secure": bool(v["secure"]), "httponly": bool(v["httponly"])} for k, v in secure.cookies.items()},
    "status": secure.status_code,
}))
"""


def test_production_responses_carry_hsts_secure_cookies_and_policies() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=_safe_env(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain"] == [301, "https://shop.example.com/login/"]  # plain HTTP goes to HTTPS
    headers = seen["headers"]
    assert seen["status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in headers["Permissions-Policy"]
    csp = headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert (
        "script-src 'self' 'wasm-unsafe-eval' https://js.stripe.com;" in csp
        and "upgrade-insecure-requests" in csp
    )
    assert seen["cookies"]["csrftoken"]["secure"]


@pytest.mark.django_db
def test_development_pages_carry_the_same_csp() -> None:
    response = Client().get("/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp


TEMPLATE_DIRS = ["frontend/templates", "nft/templates", "notifications/templates", "commerce"]
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event-handler attribute"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style", re.I), "<style> element"),
]


def test_no_template_served_to_browsers_has_inline_script_or_style() -> None:
    """E-mail templates are exempt: mail clients need inline styles and never see the CSP."""
    found = []
    for folder in TEMPLATE_DIRS:
        for path in (ROOT / folder).rglob("*.html"):
            if "/email/" in str(path) or "templates" not in str(path):
                continue
            text = path.read_text()
            found += [f"{path.relative_to(ROOT)}: {what}" for pattern, what in INLINE if pattern.search(text)]
    assert found == []
