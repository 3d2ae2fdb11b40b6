"""Wake the relay when outbox rows commit: a statement-level trigger sends NOTIFY realtime_outbox.

PostgreSQL delivers a NOTIFY only when the inserting transaction commits, so the relay never
wakes for rows it cannot see yet; identical notifications in one transaction are folded into one.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION realtime_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('realtime_outbox', '');
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS realtime_outbox_notify ON realtime_outboxevent;
CREATE TRIGGER realtime_outbox_notify AFTER INSERT ON realtime_outboxevent
    FOR EACH STATEMENT EXECUTE FUNCTION realtime_outbox_notify();
"""

DROP = """
DROP TRIGGER IF EXISTS realtime_outbox_notify ON realtime_outboxevent;
DROP FUNCTION IF EXISTS realtime_outbox_notify();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("realtime", "0002_backbone_tables"),
    ]

    operations = [migrations.RunSQL(CREATE, reverse_sql=DROP)]
