"""Payments use cases: intents, webhook intake, the saga, refunds, reconciliation."""
