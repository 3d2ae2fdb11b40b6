"""`Idempotency-Key` for creating POSTs: the first response is stored and replayed for retries.

The key row is inserted in the same transaction as the request's effect and updated with the
response before commit. A concurrent duplicate therefore waits on the unique index until the
first commits (then replays its response) or rolls back (then runs itself): the effect can never
run twice, and a crash leaves nothing half-done behind.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from commerce.errors import IdempotencyKeyReused, InvalidIdempotencyKey
from commerce.models import IdempotencyKey

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any


@dataclass(frozen=True)
class Claim:
    key_id: int


def fingerprint(*, method: str, path: str, data: Any) -> str:
    """sha256 of the request: same key + other body (or endpoint) must be told apart."""
    canonical = json.dumps([method.upper(), path, data], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidIdempotencyKey(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            details={"header": "Idempotency-Key"},
        )


def _insert_key(
    *,
    user_id: int | None,
    key: str,
    fingerprint: str,
    method: str,
    path: str,
    status: int | None = None,
    body_json: str | None = None,
) -> int | None:
    """Insert the key's row (with its response, if already known); None when the key exists."""
    check_key(key)
    table = IdempotencyKey._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (user_id, key, fingerprint, method, path, response_status, "  # noqa: S608
            "response_body, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s) "
            "ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [user_id, key, fingerprint, method[:10], path[:500], status, body_json, timezone.now()],
        )
        row = cur.fetchone()
    return None if row is None else int(row[0])


def claim_key(
    *, user_id: int | None, key: str, fingerprint: str, method: str, path: str
) -> Claim | StoredResponse:
    """Inside the request's transaction: take the key, or return the response stored under it.

    Raises IdempotencyKeyReused when the key was used for a different request.
    """
    assert connection.in_atomic_block, "claim_key must run inside the request's transaction"
    key_id = _insert_key(user_id=user_id, key=key, fingerprint=fingerprint, method=method, path=path)
    if key_id is not None:
        return Claim(key_id=key_id)
    owner = {"user_id": user_id} if user_id is not None else {"user__isnull": True}
    stored = IdempotencyKey.objects.get(key=key, **owner)
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request.",
            details={"header": "Idempotency-Key"},
        )
    assert stored.response_status is not None  # rows are only ever committed with their response
    return StoredResponse(status=stored.response_status, body=stored.response_body)


def store_response(*, claim: Claim, status: int, body: Any = None, body_json: str | None = None) -> None:
    """Inside the same transaction: remember the response to replay.

    Pass the body as data, or as the JSON text already rendered for the client (`body_json`,
    stored as is: no second encoding on the hot path).
    """
    text = body_json if body_json is not None else json.dumps(body)
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {IdempotencyKey._meta.db_table} SET response_status = %s, "  # noqa: S608
            "response_body = %s::jsonb WHERE id = %s",
            [status, text, claim.key_id],
        )


def record_refusal(
    *, user_id: int | None, key: str, fingerprint: str, method: str, path: str, status: int, body_json: str
) -> bool:
    """Outside a transaction: store a refusal that changed nothing under a fresh key, in one statement.

    For answers known before any effect (a SKU this process saw sold out): one INSERT, committed
    on its own, instead of BEGIN, claim, store and COMMIT. False when the key already exists (or
    is being claimed right now: the INSERT waits for that transaction); the caller then takes the
    ordinary path, which replays the stored response or refuses a reused key.
    """
    key_id = _insert_key(
        user_id=user_id,
        key=key,
        fingerprint=fingerprint,
        method=method,
        path=path,
        status=status,
        body_json=body_json,
    )
    return key_id is not None


def purge_old_keys(*, older_than: timedelta | None = None) -> int:
    """Forget stored responses past their retention; returns how many were deleted."""
    age = older_than or timedelta(hours=settings.COMMERCE_IDEMPOTENCY_RETENTION_HOURS)
    with transaction.atomic():
        deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - age).delete()
    return deleted
