"""`manage.py stripe_webhook <type> --order <id>`: send a signed, Stripe-shaped webhook event.

stripe-mock sends no webhooks; this builds the event Stripe would send about the order's
PaymentIntent, signs it with STRIPE_WEBHOOK_SECRET and POSTs it to the webhook endpoint
(`--url`, default SITE_URL/webhooks/stripe/), or hands it to the intake in-process (`--local`).
"""

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from commerce.payments.simulator import SUPPORTED, deliver_in_process, event_for_order, post_event


class Command(BaseCommand):
    help = "Build, sign and deliver a Stripe webhook event for an order (stripe-mock sends none)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("type", choices=SUPPORTED, help="Stripe event type")
        parser.add_argument("--order", type=int, required=True, help="order id")
        parser.add_argument("--url", default="", help="webhook URL (default: SITE_URL/webhooks/stripe/)")
        parser.add_argument("--local", action="store_true", help="deliver in-process instead of over HTTP")
        parser.add_argument("--event-id", default=None, help="Stripe event id (to replay the same event)")
        parser.add_argument(
            "--refund-amount", type=int, default=None, help="charge.refunded: amount refunded"
        )
        parser.add_argument("--times", type=int, default=1, help="deliver the same event this many times")
        parser.add_argument("--print", action="store_true", help="print the event JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.PAYMENTS_DEMO_CONFIRM:  # signed with the real secret it would forge payments
            raise CommandError(
                "The demo webhook sender is off (PAYMENTS_DEMO_CONFIRM=false, as in production)."
            )
        try:
            event = event_for_order(
                options["type"],
                order_id=options["order"],
                event_id=options["event_id"],
                **({"refund_amount": options["refund_amount"]} if options["refund_amount"] else {}),
            )
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        if options["print"]:
            self.stdout.write(json.dumps(event, indent=2))
        url = options["url"] or settings.SITE_URL.rstrip("/") + "/webhooks/stripe/"
        for _ in range(max(1, min(options["times"], 100))):
            if options["local"]:
                self.stdout.write(f"{event['id']} {event['type']}: {deliver_in_process(event)}")
            else:
                status, body = post_event(event, url=url)
                self.stdout.write(f"{event['id']} {event['type']}: HTTP {status} {body}")
