"""Buyers talking to the waiting room and the reserve endpoint through the HTTP API, from threads."""

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connection

from commerce.models import DropItem, Reservation
from commerce.waiting_room.models import AdmissionUse

T = TypeVar("T")
R = TypeVar("R")


def in_threads(fn: Callable[[T], R], items: Sequence[T], threads: int = 12) -> list[R]:
    """fn over items on real threads (each with its own DB connection), started together; in order."""
    barrier = threading.Barrier(min(threads, len(items)) or 1)

    def worker(chunk: list[tuple[int, T]]) -> list[tuple[int, R]]:
        try:
            barrier.wait(timeout=60)
            return [(i, fn(item)) for i, item in chunk]
        finally:
            connection.close()

    indexed = list(enumerate(items))
    chunks = [indexed[i :: min(threads, len(items))] for i in range(min(threads, len(items)))]
    with ThreadPoolExecutor(max_workers=len(chunks) or 1) as pool:
        done = [pair for part in pool.map(worker, chunks) for pair in part]
    return [r for _, r in sorted(done, key=lambda pair: pair[0])]


def many_buyers(count: int, prefix: str = "wr") -> list[tuple[Any, Any]]:
    """`count` users with API tokens, created in two statements: (user, client) pairs."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    users = User.objects.bulk_create([User(username=f"{prefix}{i}", password="!") for i in range(count)])
    tokens = Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])
    pairs = []
    for user, token in zip(users, tokens, strict=True):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        pairs.append((user, client))
    return pairs


def join(client: Any, drop_id: int) -> dict[str, Any]:
    response = client.post(f"/api/v1/drops/{drop_id}/queue/")
    assert response.status_code == 200, response.content
    return response.json()


def place(client: Any, drop_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/drops/{drop_id}/queue/")
    assert response.status_code == 200, response.content
    return response.json()


def reserve(client: Any, drop_id: int, sku_id: int, token: str | None, **headers: str) -> tuple[int, Any]:
    extra = {"HTTP_ADMISSION_TOKEN": token} if token is not None else {}
    response = client.post(
        "/api/v1/reservations/",
        {"drop_id": drop_id, "sku_id": sku_id, "quantity": 1},
        format="json",
        **extra,
        **headers,
    )
    return response.status_code, response.json()


def stock_state(drop_id: int) -> dict[str, int]:
    item = DropItem.objects.get(drop_id=drop_id)
    return {
        "offered": item.offered,
        "reserved": item.reserved,
        "sold": item.sold,
        "reservation_rows": Reservation.objects.filter(drop_id=drop_id).count(),
        "admission_uses": AdmissionUse.objects.filter(drop_id=drop_id).count(),
    }


def error_code(body: Any) -> str:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return str(body["error"]["code"])
