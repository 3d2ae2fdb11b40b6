"""The console's show form: title, description, scheduled start (UTC) and the stream URL."""

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from commerce.shows.errors import InvalidShowData
from commerce.shows.services.lifecycle import check_playback_url


class ShowForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(max_length=5_000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    scheduled_at = forms.DateTimeField(
        label="Starts at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="When viewers should tune in; you go live from the host console.",
    )
    playback_url = forms.CharField(
        max_length=500,
        label="Stream URL",
        help_text="The HLS playlist (.m3u8) or player URL your streaming tool gives you, "
        "or a path on this site such as /media/shows/demo-show/index.m3u8.",
    )

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()

    def clean_title(self) -> str:
        title = str(self.cleaned_data["title"]).strip()
        if not title:
            raise forms.ValidationError("Please give the show a title.")
        return title

    def clean_scheduled_at(self) -> datetime:
        when: datetime = self.cleaned_data["scheduled_at"]
        if when < self.now - timedelta(minutes=1):
            raise forms.ValidationError("Pick a start time in the future (times are UTC).")
        return when

    def clean_playback_url(self) -> str:
        # The service's own rule, so the form and the API accept exactly the same URLs.
        try:
            return check_playback_url(self.cleaned_data["playback_url"])
        except InvalidShowData:
            raise forms.ValidationError(
                "Enter an http(s) URL of the stream, or a path on this site starting with /."
            ) from None
