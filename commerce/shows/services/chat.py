"""Chat and moderation: post (validated, rate limited), delete, mute, unmute.

A message is persisted and its `show.message_posted` event written in one transaction (audit and
replay through Kafka); viewers get it pushed straight from the commit (realtime/shows/publish.py),
not through Kafka, which would add the relay and projector hops to every line of chat.
"""

import re
import unicodedata

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from commerce.shows import ratelimit
from commerce.shows.errors import (
    ChatClosed,
    ChatMarkupRefused,
    ChatMessageInvalid,
    ChatMessageTooLong,
    ChatMuted,
    ChatNotAuthenticated,
    ChatRateLimited,
    MessageNotFound,
    ShowNotFound,
)
from commerce.shows.models import ChatMessage, Show, ShowMute, ShowState
from commerce.shows.selectors import message_row
from commerce.shows.services.common import is_host, require_host
from realtime.outbox import emit
from realtime.shows.publish import push_on_commit

# Something a browser would parse as markup: a tag opening or closing, a comment or doctype,
# or a javascript: URL. "<3" and "2 < 3" stay allowed.
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!?]|javascript\s*:", re.IGNORECASE)


def clean_text(text: object) -> str:
    """The message as it will be stored, or a ChatError saying what is wrong with it."""
    if not isinstance(text, str):
        raise ChatMessageInvalid("A chat message must be text.", details={"field": "text"})
    # Control characters (bidi overrides included) can garble or spoof other lines of chat.
    text = "".join(
        ch for ch in unicodedata.normalize("NFC", text) if ch == " " or unicodedata.category(ch)[0] != "C"
    ).strip()
    limit = settings.SHOWS_CHAT_MAX_LENGTH
    if not text:
        raise ChatMessageInvalid("The message is empty.", details={"field": "text"})
    if len(text) > limit:
        raise ChatMessageTooLong(
            f"Messages are at most {limit} characters.", details={"field": "text", "max_length": limit}
        )
    if _MARKUP.search(text):
        raise ChatMarkupRefused("HTML and scripts are not allowed in chat.", details={"field": "text"})
    return text


def _show(show_id: int) -> Show:
    show = Show.objects.filter(pk=show_id).first()
    if show is None:
        raise ShowNotFound("Show not found.", details={"resource": "show", "id": show_id})
    return show


def post_message(*, show_id: int, user: User | None, text: object) -> ChatMessage:
    """A signed-in viewer (or the host) says something. Refusals change nothing and say why."""
    if user is None or not user.is_authenticated:
        raise ChatNotAuthenticated("Sign in to chat.")
    body = clean_text(text)
    show = _show(show_id)
    if show.state == ShowState.ENDED:
        raise ChatClosed("The show has ended; chat is closed.", details={"show_id": show_id})
    host = is_host(user_id=user.pk, merchant_id=show.merchant_id)
    if not host and ShowMute.objects.filter(show_id=show_id, user_id=user.pk).exists():
        raise ChatMuted("The host muted you in this show.", details={"show_id": show_id})
    retry_after = ratelimit.hit(f"chat:{show_id}:{user.pk}", limit=settings.SHOWS_CHAT_RATE_LIMIT,
                                window_s=settings.SHOWS_CHAT_RATE_WINDOW_SECONDS)  # fmt: skip
    if retry_after is not None:
        raise ChatRateLimited(
            "You are sending messages too fast.",
            details={"retry_after": retry_after, "limit": settings.SHOWS_CHAT_RATE_LIMIT,
                     "window_seconds": settings.SHOWS_CHAT_RATE_WINDOW_SECONDS},
        )  # fmt: skip
    with transaction.atomic():
        message = ChatMessage.objects.create(show=show, user=user, text=body, is_host=host)
        emit(
            type="show.message_posted",
            key=show_id,
            payload={
                "show_id": show_id,
                "message_id": message.pk,
                "user_id": user.pk,
                "username": user.get_username()[:150] or "user",
                "text": body,
                "role": "host" if host else "viewer",
            },
        )
        push_on_commit(show_id, "chat", message=message_row(message, username=user.get_username()))
    return message


def delete_message(*, show_id: int, message_id: int, moderator_id: int) -> ChatMessage:
    """The host removes a message; every viewer drops it (idempotent: deleting twice is a no-op)."""
    with transaction.atomic():
        show = _show(show_id)
        require_host(user_id=moderator_id, show=show)
        message = ChatMessage.objects.select_for_update().filter(pk=message_id, show_id=show_id).first()
        if message is None:
            raise MessageNotFound("Message not found.", details={"message_id": message_id})
        if message.deleted_at is not None:
            return message
        message.deleted_at, message.deleted_by_id = timezone.now(), moderator_id
        message.save(update_fields=["deleted_at", "deleted_by"])
        emit(
            type="show.message_deleted",
            key=show_id,
            payload={"show_id": show_id, "message_id": message.pk, "deleted_by": moderator_id,
                     "user_id": message.user_id},
        )  # fmt: skip
        push_on_commit(show_id, "chat_deleted", message_id=message.pk)
    return message


def mute_user(*, show_id: int, user_id: int, moderator_id: int, reason: str = "") -> ShowMute:
    """The host mutes a viewer in this show (hosts cannot be muted); idempotent."""
    with transaction.atomic():
        show = _show(show_id)
        require_host(user_id=moderator_id, show=show)
        if not User.objects.filter(pk=user_id).exists():
            raise MessageNotFound("No such viewer.", details={"user_id": user_id})
        if is_host(user_id=user_id, merchant_id=show.merchant_id):
            raise ChatMessageInvalid("The show's hosts cannot be muted.", details={"user_id": user_id})
        mute, created = ShowMute.objects.get_or_create(
            show=show, user_id=user_id, defaults={"muted_by_id": moderator_id, "reason": reason[:100]}
        )
        if created:
            payload: dict[str, object] = {"show_id": show_id, "user_id": user_id, "muted_by": moderator_id}
            if reason.strip():
                payload["reason"] = reason.strip()[:100]
            emit(type="show.user_muted", key=show_id, payload=payload)
            push_on_commit(show_id, "muted", user_id=user_id)
    return mute


def unmute_user(*, show_id: int, user_id: int, moderator_id: int) -> bool:
    """The host lifts a mute; False if the viewer was not muted."""
    with transaction.atomic():
        show = _show(show_id)
        require_host(user_id=moderator_id, show=show)
        deleted, _ = ShowMute.objects.filter(show=show, user_id=user_id).delete()
        if deleted:
            emit(type="show.user_unmuted", key=show_id,
                 payload={"show_id": show_id, "user_id": user_id, "unmuted_by": moderator_id})  # fmt: skip
            push_on_commit(show_id, "unmuted", user_id=user_id)
    return bool(deleted)
