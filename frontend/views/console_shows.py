"""Merchant console: the merchant's shows, and a form to create, reschedule or cancel one.

Writes go through commerce.shows.services.lifecycle; going live, pins and flash drops stay on
the host console (frontend/shows/views.py).
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from commerce.shows.models import Show, ShowState
from commerce.shows.services import lifecycle
from config.errors import ApplicationError
from frontend.messages import friendly
from frontend.shows.forms import ShowForm
from frontend.views.console import _merchant


def _show(merchant_id: int, pk: int) -> Show:
    show = Show.objects.filter(pk=pk, merchant_id=merchant_id).first()
    if show is None:
        raise Http404("no such show")
    return show


@login_required
def show_list(request: HttpRequest, merchant_id: int) -> HttpResponse:
    """Every show of the merchant, upcoming and live first."""
    merchant = _merchant(request, merchant_id)
    rank = Case(When(state=ShowState.LIVE, then=0), When(state=ShowState.SCHEDULED, then=1), default=2)
    shows = Show.objects.filter(merchant=merchant).order_by(rank, "-scheduled_at", "-pk")[:100]
    return render(request, "frontend/console/shows.html", {"merchant": merchant, "shows": shows})


@login_required
def show_form(request: HttpRequest, merchant_id: int, pk: int | None = None) -> HttpResponse:
    """Create a show, or edit one that has not started yet."""
    merchant = _merchant(request, merchant_id)
    show = _show(merchant.pk, pk) if pk is not None else None
    if show is not None and show.state != ShowState.SCHEDULED:
        messages.error(request, "Only a show that has not started can be edited.")
        return redirect("frontend:console-shows", merchant_id=merchant.pk)
    initial: dict[str, Any] = {}
    if show is not None:
        initial = {k: getattr(show, k) for k in ("title", "description", "scheduled_at", "playback_url")}
    form = ShowForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {k: data[k] for k in ("title", "description", "scheduled_at", "playback_url")}
        try:
            if show is None:
                show = lifecycle.create_show(merchant_id=merchant.pk, **fields)
                messages.success(request, f"Show “{show.title}” scheduled.")
            else:
                show = lifecycle.update_show(
                    show_id=show.pk, merchant_id=merchant.pk, cover_image_url=show.cover_image_url, **fields
                )
                messages.success(request, "Show saved.")
            return redirect("frontend:console-shows", merchant_id=merchant.pk)
        except ApplicationError as exc:
            field = (exc.details or {}).get("field")
            form.add_error(field if field in form.fields else None, friendly(exc.code, exc.message))
    return render(
        request, "frontend/console/show_form.html", {"merchant": merchant, "form": form, "show": show}
    )


@login_required
@require_POST
def show_cancel(request: HttpRequest, merchant_id: int, pk: int) -> HttpResponse:
    """Cancel a show that has not started (the state machine ends it; viewers see it gone)."""
    merchant = _merchant(request, merchant_id)
    show = _show(merchant.pk, pk)
    if show.state != ShowState.SCHEDULED:
        messages.error(
            request,
            "Only a show that has not started can be cancelled; end a live one from its host console.",
        )
    else:
        try:
            lifecycle.end_show(show_id=show.pk, merchant_id=merchant.pk)
            messages.success(request, f"Show “{show.title}” cancelled.")
        except ApplicationError as exc:
            messages.error(request, friendly(exc.code, exc.message))
    return redirect("frontend:console-shows", merchant_id=merchant.pk)
