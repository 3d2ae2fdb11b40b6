"""Django's PostgreSQL backend, with a connection health check that costs no round trip.

With persistent connections (CONN_MAX_AGE) and CONN_HEALTH_CHECKS, Django runs `SELECT 1` on
every request's first use of the connection, so that a connection the server dropped (restart,
fail-over, `pg_terminate_backend`, idle timeout) is replaced instead of failing the request. On
the reserve hot path that check was one of four round trips (bench/reserve_layers.py).

A server that ends a connection sends its reason and closes the socket, so an idle connection
whose socket has become readable is the one that may be dead; an idle socket with nothing to
read is alive as far as `SELECT 1` could tell (a silent network partition hangs both alike).
`is_usable()` therefore polls the socket without blocking and only sends `SELECT 1` when there
is something to read or the connection is not idle: the same guarantee, no round trip.
"""

import select
from typing import Any

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper
from psycopg import pq


class DatabaseWrapper(PostgresDatabaseWrapper):
    def is_usable(self) -> bool:
        conn: Any = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        if conn.pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return bool(super().is_usable())
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        if readable:  # the server said something while we were idle: ask it for real
            return bool(super().is_usable())
        return True
