"""`POST /webhooks/stripe/`: a plain Django view, because the signature is over the raw body."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from commerce.payments.errors import PaymentsError
from commerce.payments.services.webhooks import receive_stripe_webhook
from config.api_errors import error_body
from monitoring.metrics import count_webhook

MAX_BODY_BYTES = 512 * 1024  # Stripe events are a few KB; refuse anything absurd before hashing it


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Verify and record one Stripe event; 2xx as soon as it is stored (processing is asynchronous)."""
    if len(request.body) > MAX_BODY_BYTES:
        count_webhook("stripe", "payload_too_large")
        return JsonResponse(error_body("payload_too_large", "The body is too large."), status=413)
    try:
        receipt = receive_stripe_webhook(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except PaymentsError as exc:
        count_webhook("stripe", exc.code)
        return JsonResponse(error_body(exc.code, exc.message, exc.details), status=exc.http_status)
    count_webhook("stripe", receipt.outcome)
    return JsonResponse({"received": True, "outcome": receipt.outcome, "id": receipt.stripe_event_id})
