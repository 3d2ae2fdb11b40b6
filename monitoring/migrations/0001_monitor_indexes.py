"""Partial indexes that keep the monitor's scrape queries cheap on large tables.

They belong to other apps' tables but exist only for monitoring, so they live (and are dropped)
here, without touching those apps' migration graphs.
"""

from django.db import migrations

INDEXES = [
    (
        "monitoring_sagaline_mint_open_idx",
        "payments_sagaline (mint_requested_at) WHERE mint_status = 'requested'",
    ),
    ("monitoring_ordersaga_refunding_idx", "payments_ordersaga (updated_at) WHERE state = 'refunding'"),
    ("monitoring_email_dead_idx", "notifications_outgoingemail (id) WHERE status = 'dead'"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("notifications", "0001_initial_outbox_centre_optouts"),
    ]

    operations = [
        migrations.RunSQL(f"CREATE INDEX IF NOT EXISTS {name} ON {target}", f"DROP INDEX IF EXISTS {name}")
        for name, target in INDEXES
    ]
