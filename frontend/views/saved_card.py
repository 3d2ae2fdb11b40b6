"""The buyer's card for auction wins: save the demo test card with consent, or remove it."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from commerce.payments.services import saved_cards
from config.errors import ApplicationError
from frontend.messages import friendly
from frontend.views import user_id

# Stripe's test PaymentMethod for a Visa that succeeds (stripe-mock knows it too). With real keys the
# PaymentMethod comes from Stripe.js on this page and the card number never reaches mintdrop.
DEMO_PAYMENT_METHOD = "pm_card_visa"


@login_required
def saved_card(request: HttpRequest) -> HttpResponse:
    me = user_id(request)
    message, status = "", 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "remove":
                saved_cards.remove_card(user_id=me)
            else:
                saved_cards.save_card(
                    user_id=me,
                    payment_method=DEMO_PAYMENT_METHOD,
                    consent=request.POST.get("consent") == "yes",
                )
            return redirect("frontend:saved-card")
        except ApplicationError as exc:
            message, status = friendly(exc.code, exc.message), exc.http_status
    context = {
        "card": saved_cards.active_card(user_id=me),
        "consent_text": saved_cards.CONSENT_TEXT,
        "message": message,
    }
    return render(request, "frontend/saved_card.html", context, status=status)
