"""Server-rendered pages: storefront (shop.py, orders.py, account.py) and merchant console (console*.py)."""

from django.http import HttpRequest


def user_id(request: HttpRequest) -> int:
    """The signed-in user's id (views using it are behind `login_required`)."""
    return int(request.user.pk or 0)
