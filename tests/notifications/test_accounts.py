"""Account mail through the real Mailpit: sign-up verification, password reset and change; bad input:
invalid addresses, forged / expired / reused tokens -> clear errors, nothing changed."""

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from notifications import tokens
from notifications.models import EmailOptOut, OutgoingEmail, VerifiedEmail
from notifications.services.record import has_verified_email
from tests.notifications.mailpit import MailpitApi, unique_address

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def link_in(mailpit: MailpitApi, address: str, pattern: str) -> str:
    (summary,) = mailpit.wait_for(address)
    text = mailpit.message(summary["ID"])["Text"]
    match = re.search(r"https?://[^/\s]+(" + pattern + r")", text)
    assert match, text
    return match.group(1)


def test_signup_sends_a_verification_link_that_confirms_the_address(
    client: Client, mailpit: MailpitApi, eager_celery: None
) -> None:
    address = unique_address("signup")
    response = client.post("/signup/", {"username": "newbie", "email": address, "password": "long-enough-1"})
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert not has_verified_email(user)
    (summary,) = mailpit.wait_for(address)
    assert summary["Subject"] == "Confirm your e-mail address for mintdrop"
    path = link_in(mailpit, address, r"/account/verify-email/[^/\s]+/")
    page = Client().get(path)  # no login needed
    assert page.status_code == 200 and address.encode() in page.content
    assert has_verified_email(user)
    account = client.get("/account/")
    assert b"confirmed" in account.content


def test_invalid_or_injected_address_at_signup_is_refused_and_nothing_is_created(
    client: Client, mailpit: MailpitApi, eager_celery: None
) -> None:
    victim = unique_address("victim")
    for bad in ("not-an-address", f"a@b.example\r\nBcc: {victim}", f"x@y.example, {victim}"):
        response = client.post("/signup/", {"username": "mallory", "email": bad, "password": "long-enough-1"})
        assert response.status_code == 200
        assert b"Enter a valid email address" in response.content
    assert not User.objects.filter(username="mallory").exists()
    assert OutgoingEmail.objects.count() == 0
    assert mailpit.to(victim) == []


def test_forged_altered_expired_and_stale_verification_links_change_nothing(
    make_person: Any, settings: Any
) -> None:
    user = make_person(verified=False)
    good = tokens.verify_token(user_id=user.pk, email=user.email)
    forged = good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb")
    other_user = tokens.verify_token(user_id=user.pk + 1000, email=user.email)
    client = Client()
    for token, message in (
        (forged, b"not valid"),
        ("garbage", b"not valid"),
        (tokens.unsubscribe_token(user_id=user.pk, category="nft"), b"not valid"),  # other purpose
        (other_user, b"not valid"),
    ):
        response = client.get(f"/account/verify-email/{token}/")
        assert response.status_code == 400 and message in response.content
    settings.NOTIFY_VERIFY_MAX_AGE_SECONDS = -1  # every link is now past its lifetime
    expired = client.get(f"/account/verify-email/{good}/")
    assert expired.status_code == 400 and b"expired" in expired.content
    settings.NOTIFY_VERIFY_MAX_AGE_SECONDS = 3600
    user.email = unique_address("changed")
    user.save(update_fields=["email"])
    stale = client.get(f"/account/verify-email/{good}/")  # made for the previous address
    assert stale.status_code == 400 and b"no longer use" in stale.content
    assert not VerifiedEmail.objects.filter(user=user).exists()


def test_password_reset_by_mail_then_the_link_is_single_use_and_forgeries_fail(
    make_person: Any, mailpit: MailpitApi, eager_celery: None
) -> None:
    user = make_person()
    client = Client()
    sent = client.post("/account/password-reset/", {"email": user.email.upper()})
    assert sent.status_code == 302 and sent["Location"] == "/account/password-reset/sent/"
    unknown = client.post("/account/password-reset/", {"email": unique_address("nobody")})
    assert unknown.status_code == 302  # same answer: no account enumeration
    path = link_in(mailpit, user.email, r"/account/reset/[^/\s]+/[^/\s]+/")
    uid = path.split("/")[3]
    forged = client.get(f"/account/reset/{uid}/abc-0123456789abcdef/", follow=True)
    assert b"not valid" in forged.content
    form = client.get(path, follow=True)
    assert form.status_code == 200 and b"Choose a new password" in form.content
    set_url = form.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "Brand-new-pass-42", "new_password2": "Brand-new-pass-42"})
    assert done.status_code == 302
    assert Client().login(username=user.username, password="Brand-new-pass-42")
    reuse = Client().get(path, follow=True)
    assert b"not valid" in reuse.content  # a used link is dead
    user.refresh_from_db()
    assert user.check_password("Brand-new-pass-42")


def test_password_change_is_confirmed_by_mail(
    make_person: Any, mailpit: MailpitApi, eager_celery: None
) -> None:
    user = make_person()
    client = Client()
    client.force_login(user)
    wrong = client.post(
        "/account/password/",
        {"old_password": "nope", "new_password1": "Another-pass-77", "new_password2": "Another-pass-77"},
    )
    assert wrong.status_code == 200 and OutgoingEmail.objects.filter(user=user).count() == 0
    ok = client.post(
        "/account/password/",
        {
            "old_password": "pw-12345678",
            "new_password1": "Another-pass-77",
            "new_password2": "Another-pass-77",
        },
    )
    assert ok.status_code == 302
    (summary,) = mailpit.wait_for(user.email)
    assert summary["Subject"] == "Your mintdrop password was changed"


def test_forged_or_transactional_unsubscribe_links_are_refused(make_person: Any) -> None:
    user = make_person()
    client = Client(enforce_csrf_checks=True)
    good = tokens.unsubscribe_token(user_id=user.pk, category="nft")
    for token in (
        good[:-2] + "zz",
        tokens.unsubscribe_token(user_id=user.pk, category="receipts"),  # receipts cannot be turned off
        tokens.unsubscribe_token(user_id=user.pk, category="no-such"),
        tokens.verify_token(user_id=user.pk, email=user.email),  # a token made for another purpose
    ):
        response = client.post(f"/notifications/unsubscribe/{token}/")
        assert response.status_code == 400 and b"not valid" in response.content
    assert not EmailOptOut.objects.filter(user=user).exists()
    assert client.post(f"/notifications/unsubscribe/{good}/").status_code == 200
    assert list(EmailOptOut.objects.filter(user=user).values_list("category", flat=True)) == ["nft"]


def test_account_page_preferences_round_trip(make_person: Any) -> None:
    user = make_person()
    client = Client()
    client.force_login(user)
    page = client.get("/account/")
    assert page.status_code == 200 and b"Shipping updates" in page.content
    saved = client.post("/account/", {"form": "preferences", "nft": "on", "wallet": "on"})
    assert saved.status_code == 302
    assert set(EmailOptOut.objects.filter(user=user).values_list("category", flat=True)) == {
        "shipping",
        "merchant",
    }
    client.post(
        "/account/", {"form": "preferences", "nft": "on", "wallet": "on", "shipping": "on", "merchant": "on"}
    )
    assert not EmailOptOut.objects.filter(user=user).exists()
    bad = client.post("/account/", {"form": "email", "email": "bad\r\nBcc: x@y.z"})
    assert bad.status_code == 200 and b"Enter a valid email address" in bad.content
    user.refresh_from_db()
    assert user.email.endswith("@mintdrop.test") and "\n" not in user.email
    _ = Any
