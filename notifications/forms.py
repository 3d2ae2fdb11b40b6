"""Forms of the account page and the password flows."""

from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordResetForm

from notifications.categories import optional_categories
from notifications.services import accounts


class EmailForm(forms.Form):
    # EmailField refuses anything with CR/LF or more than one address: no header can be smuggled in.
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class PreferencesForm(forms.Form):
    def __init__(self, *args: Any, opted_out: set[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for category in optional_categories():
            self.fields[category.value] = forms.BooleanField(
                required=False, label=category.label, initial=category.value not in (opted_out or set())
            )

    def enabled(self) -> set[str]:
        return {name for name, on in self.cleaned_data.items() if on}


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's reset form, but the mail goes through the notifications outbox (retried, never lost)."""

    def save(self, *args: Any, **kwargs: Any) -> None:
        # get_users(): active users with a usable password and this address (case-insensitive).
        # The page answers the same whether or not an account matched (no account enumeration).
        for user in self.get_users(self.cleaned_data["email"]):
            accounts.send_password_reset(user=user)
