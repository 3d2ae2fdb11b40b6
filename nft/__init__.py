"""Contracts, chain client, transaction manager, block confirmer, indexer, wallets, token metadata."""
