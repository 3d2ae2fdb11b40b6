"""In-process announcements of the payments services, for the layers above them to act on.

Services must not import the Celery task modules that call them (an import cycle, issue #14), so
`request_refund` announces `refund_requested` and `commerce.payments.tasks` (connected when the
app is ready) queues the Stripe call.
"""

from django.dispatch import Signal

# Sent with `refund_id` (str) once a refund intent is committed and should be executed.
refund_requested = Signal()

# Sent with `order_id` (int) once an auction win's order is committed for a buyer with a saved card.
off_session_charge_requested = Signal()
