"""Read models built from the event log; each can be rebuilt from the start of the log (`manage.py replay`)."""
