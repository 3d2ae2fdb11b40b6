"""The production profile (`DJANGO_ENV=production`): safe defaults, and a refusal to start when unsafe.

`config/settings.py` calls `unsafe_settings()` at the end of loading when the profile is on and raises
`ImproperlyConfigured` with every problem found, so no process (web, ws, relay, consumers, celery,
`manage.py`) starts with a development secret, DEBUG, the demo payment endpoints or anvil's public keys
on a real chain. The checks read plain values (no Django, no web3 import) so they are cheap and testable.
"""

from collections.abc import Mapping
from typing import Any

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
DEV_WEBHOOK_SECRET = "whsec_dev_only_local_secret"
DEV_STRIPE_SECRET_KEY = "sk_test_123"  # stripe-mock's
LOCAL_CHAIN_ID = 31337  # anvil
ANVIL_PUBLIC_MNEMONIC = "test test test test test test test test test test test junk"
# The first ten accounts of that mnemonic (m/44'/60'/0'/0/0..9): printed by every anvil, known to all.
ANVIL_PUBLIC_KEYS = frozenset(
    {
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
        "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
        "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
        "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
        "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
        "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
        "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
    }
)
MIN_SECRET_KEY_LENGTH = 50  # Django's own `check --deploy` threshold (security.W009)


def _words(mnemonic: str) -> str:
    return " ".join(mnemonic.lower().split())


def unsafe_settings(s: Mapping[str, Any]) -> list[str]:
    """Every reason the given settings are not fit for production (empty: fine)."""
    problems = []
    if s["DEBUG"]:
        problems.append("DEBUG is on: set DJANGO_DEBUG=false (DEBUG pages leak settings and source).")
    key = str(s["SECRET_KEY"])
    if key == DEV_SECRET_KEY or key.startswith(("dev-", "django-insecure-")):
        problems.append("DJANGO_SECRET_KEY is the development key: set a long random secret.")
    elif len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < 5:
        problems.append(
            f"DJANGO_SECRET_KEY is too weak: use at least {MIN_SECRET_KEY_LENGTH} random characters."
        )
    if not s["STRIPE_WEBHOOK_SECRET"] or s["STRIPE_WEBHOOK_SECRET"] == DEV_WEBHOOK_SECRET:
        problems.append(
            "STRIPE_WEBHOOK_SECRET is the known development secret (anyone could sign a 'payment succeeded'"
            " webhook): set the endpoint's secret from the Stripe dashboard."
        )
    if s["STRIPE_SECRET_KEY"] == DEV_STRIPE_SECRET_KEY:
        problems.append("STRIPE_SECRET_KEY is stripe-mock's development key: set the account's secret key.")
    if s["PAYMENTS_DEMO_CONFIRM"]:
        problems.append(
            "PAYMENTS_DEMO_CONFIRM is on: the demo-confirm endpoint and the demo webhook sender would mark"
            " orders paid without a payment. Set PAYMENTS_DEMO_CONFIRM=false."
        )
    if int(s["CHAIN_ID"]) != LOCAL_CHAIN_ID:
        if s["NFT_CUSTODY_MNEMONIC"] and _words(s["NFT_CUSTODY_MNEMONIC"]) == ANVIL_PUBLIC_MNEMONIC:
            problems.append(
                f"NFT_CUSTODY_MNEMONIC is anvil's public test mnemonic on chain {s['CHAIN_ID']}: anyone can"
                " take the shoppers' tokens. Set a mnemonic of your own."
            )
        signer = str(s["NFT_SIGNER_PRIVATE_KEY"]).lower().removeprefix("0x")
        if signer in ANVIL_PUBLIC_KEYS:
            problems.append(
                f"NFT_SIGNER_PRIVATE_KEY is one of anvil's public test keys on chain {s['CHAIN_ID']}: anyone"
                " can spend from it. Use a key of your own (or NFT_SIGNER_KEYSTORE)."
            )
    return problems


def refusal_message(problems: list[str]) -> str:
    return "DJANGO_ENV=production refuses to start:\n" + "\n".join(f"  - {p}" for p in problems)
