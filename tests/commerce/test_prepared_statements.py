"""The hot paths' own statements are prepared on the server (config/db/prepared.py).

Django turns psycopg's preparing off by default; the reserve's cursor once claimed to prepare and
never did. These tests read PostgreSQL's own list of the session's prepared statements.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commerce.api import auth as api_auth
from config.db.prepared import prepared_cursor
from tests.commerce.conftest import client_for
from tests.commerce.waiting_room.test_edge import auth_of

pytestmark = pytest.mark.django_db


def prepared_statements_like(fragment: str) -> list[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{fragment}%"])
        return [row[0] for row in cur.fetchall()]


def test_a_token_look_up_run_repeatedly_is_prepared_once_and_still_answers(make_user, settings):
    settings.API_TOKEN_CACHE_SECONDS = 0  # every call is a look-up
    user = make_user()
    header = auth_of(client_for(user))
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    assert threshold == 5
    for _ in range(threshold + 2):
        assert api_auth.user_id_for_header(header) == user.pk
    assert len(prepared_statements_like("FROM knox_authtoken t JOIN")) == 1
    # A revoked token is refused by the prepared statement too.
    user.auth_token_set.all().delete()
    assert api_auth.user_id_for_header(header) is None


def test_the_prepared_cursor_is_a_django_cursor_queries_are_captured_and_errors_are_django_s():
    with CaptureQueriesContext(connection) as captured, prepared_cursor() as cur:
        cur.execute("SELECT %s::int + 1", [41])
        assert cur.fetchone() == (42,)
    assert captured.captured_queries[-1]["sql"].startswith("SELECT")
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic(), prepared_cursor() as cur:
        cur.execute("SELECT * FROM no_such_table_here")


def test_with_preparing_off_statements_run_unprepared_with_the_same_answers():
    """`prepare_threshold=None` (what DATABASE_PREPARED_STATEMENTS=false sets): never prepared."""
    connection.ensure_connection()
    raw = connection.connection
    before, raw.prepare_threshold = raw.prepare_threshold, None
    try:
        for i in range(8):
            with prepared_cursor() as cur:
                cur.execute("SELECT %s::int + 7 /* preparing off */", [i])
                assert cur.fetchone() == (i + 7,)
        assert prepared_statements_like("preparing off") == []
    finally:
        raw.prepare_threshold = before


@pytest.mark.parametrize(
    ("env", "threshold"), [({}, "5"), ({"DATABASE_PREPARED_STATEMENTS": "false"}, "None")]
)
def test_the_settings_turn_preparing_on_by_default_and_off_for_a_pooler(env, threshold):
    import os
    import subprocess
    import sys

    from django.conf import settings

    probe = "import django; django.setup(); from django.conf import settings as s; "
    probe += "print(s.DATABASES['default']['OPTIONS']['prepare_threshold'])"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=settings.BASE_DIR, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert out.stdout.strip() == threshold
