"""The waiting room of a queued drop: lottery before the start, FIFO after, paced admissions.

State lives in Redis (`store.py`); the single-use record of an admission token and the room's
settings live in PostgreSQL (`models.py`). See README "Waiting room".
"""
