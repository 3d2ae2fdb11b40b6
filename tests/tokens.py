"""The one way tests get an API token: a real, expiring knox token, as `POST /api/v1/auth/token/` issues."""

from django.contrib.auth.models import User

from commerce.services.tokens import issue_token as _issue


def issue_token(user: User) -> str:
    """A new API token for `user` (send it as `Authorization: Token <key>`)."""
    return _issue(user=user).key


def ws_ticket(user: User) -> str:
    """A single-use WebSocket ticket for `user`, as `POST /api/v1/ws-tickets/` issues."""
    from realtime.ws.tickets import issue_ticket

    return issue_ticket(user_id=user.pk)
