"""Cursors whose statements PostgreSQL parses and plans once per connection, not once per call.

Django's psycopg backend binds parameters on the client (a statement goes out as text with its
values inlined) and turns psycopg's prepared statements off (`prepare_threshold=None`) so that
transaction-mode connection poolers work. For the few statements hot paths run thousands of times a
second, planning is most of PostgreSQL's work: in the drop stampede (pg_stat_statements, 15 s) an
API token look-up spent 121 µs planning for 34 µs executing, a reserve 1.3 ms for 0.7 ms.

`prepared_cursor()` is Django's cursor (same health check, error wrapping and query logging, so
CaptureQueriesContext still counts it) on a server-binding psycopg cursor. psycopg prepares a
statement once it has run `prepare_threshold` times on a connection (settings:
`DATABASE_PREPARE_THRESHOLD`, default 5); PostgreSQL then keeps its plan for the connection's life.
`DATABASE_PREPARED_STATEMENTS=false` (a pooler in transaction mode) turns preparing off; these
statements then run unprepared, with the same results. Django's own cursors are client-binding, and
psycopg never prepares those, so the ORM is unaffected either way.
"""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorWrapper


def prepared_cursor(using: str = DEFAULT_DB_ALIAS) -> CursorWrapper:
    """A Django cursor on `using` whose repeated statements are prepared (see the module)."""
    conn = connections[using]
    # As BaseDatabaseWrapper._cursor does for Django's own cursors.
    conn.close_if_health_check_failed()
    conn.ensure_connection()
    with conn.wrap_database_errors:
        raw = ServerBindingCursor(conn.connection)  # type: ignore[call-arg]  # psycopg's Cursor(connection)
        return conn._prepare_cursor(raw)  # type: ignore[attr-defined]  # not in the stubs
