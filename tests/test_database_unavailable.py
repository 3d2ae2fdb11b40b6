"""A database that does not answer (a restart, a failover) -> 503 with Retry-After, never a 500.

The database is really unreachable here: the connection is closed and pointed at a port nobody
listens on, so the next query fails in psycopg as it does while PostgreSQL restarts (the chaos
suite's `postgres_restart`, tests/chaos/). Then it is pointed back.
"""

import socket
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # released on close: nothing listens there


@pytest.fixture
def database_away(transactional_db: None) -> Iterator[None]:
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(_closed_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
        connection.ensure_connection()


def test_an_api_read_answers_503_with_the_error_shape_and_retry_after(database_away: None) -> None:
    response = Client().get("/api/v1/products/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    error = response.json()["error"]
    assert error["code"] == "service_unavailable" and error["details"] == {"retry_after": 5}


def test_a_storefront_page_answers_503_with_a_page_and_retry_after(database_away: None) -> None:
    response = Client().get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"Back in a moment" in response.content


def test_the_same_requests_answer_normally_once_the_database_is_back(transactional_db: None) -> None:
    assert Client().get("/api/v1/products/").status_code == 200
    assert Client().get("/").status_code == 200
