"""Fiat payments through Stripe and the checkout saga (Django app label `payments`).

- `gateway.py`: the thin `StripeGateway` interface and its stripe-python implementation.
- `services/`: PaymentIntent per order, webhook intake, the saga, refunds, the reconciler.
- `handlers.py`: the `saga` consumer group (payment.*, nft.mint.confirmed / failed).
- `simulator.py` + `signing.py`: Stripe-shaped, signed webhook events (stripe-mock sends none).
"""
