"""Use cases of the chain layer (one public function per use case).

Imports run one way, lowest first (tests/test_import_layers.py fails on any cycle, function-level
imports included):

    fees, locks, mint_events  ->  signing  ->  senders  ->  gas_topup, transactions  ->  mints
        ->  collections, wallets  ->  confirmer (with indexer)

The transaction manager (`transactions`) never calls up: when a transaction's nonce went to a
transaction we did not sign it marks it dropped, heals the nonce counter and returns a `DROPPED`
outcome; `mints.send_mint` and `mints.resend_dropped_mints` sign the mint afresh.
"""
