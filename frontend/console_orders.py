"""Reads of the console's orders screen: the filters, the merchant-scoped search. Nothing writes."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from commerce.models import Order, OrderStatus

PAGE_SIZE = 25


@dataclass(frozen=True)
class OrderFilter:
    key: str
    label: str
    where: Q


# The tabs of the orders screen, in order. An order has at most one shipment (a unique constraint),
# so the shipping filters' join never repeats an order.
ORDER_FILTERS: list[OrderFilter] = [
    OrderFilter("all", "All", Q()),
    OrderFilter("pending_payment", "Pending payment", Q(status=OrderStatus.PENDING_PAYMENT)),
    OrderFilter("paid", "Paid", Q(status=OrderStatus.PAID)),
    OrderFilter("fulfilling", "Fulfilling", Q(status=OrderStatus.FULFILLING)),
    OrderFilter("to_ship", "To ship", Q(shipments__status="pending")),
    OrderFilter("shipped", "Shipped", Q(shipments__status__in=("shipped", "delivered"))),
    OrderFilter("fulfilled", "Fulfilled", Q(status=OrderStatus.FULFILLED)),
    OrderFilter("refunded", "Refunded", Q(status__in=(OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED))),
    OrderFilter("cancelled", "Cancelled", Q(status=OrderStatus.CANCELLED)),
]
FILTERS_BY_KEY = {f.key: f for f in ORDER_FILTERS}


def search_clause(text: str) -> Q:
    """Order id ("42" or "#42") or part of the buyer's username or e-mail."""
    text = text.strip()
    if not text:
        return Q()
    buyer = Q(buyer__username__icontains=text) | Q(buyer__email__icontains=text)
    number = text.lstrip("#")
    if number.isdigit() and len(number) <= 18:
        return Q(pk=int(number)) | buyer
    return buyer


def merchant_order_list(*, merchant_id: int, status: str = "all", text: str = "") -> QuerySet[Order]:
    """The merchant's orders (never another merchant's), newest first, filtered and searched."""
    chosen = FILTERS_BY_KEY.get(status, FILTERS_BY_KEY["all"])
    return (
        Order.objects.filter(merchant_id=merchant_id)
        .filter(chosen.where)
        .filter(search_clause(text[:200]))
        .select_related("buyer", "drop")
        .prefetch_related("lines")
        .order_by("-created_at", "-id")
    )


def filter_counts(*, merchant_id: int, text: str = "") -> dict[str, int]:
    """How many of the merchant's orders each tab holds (with the current search)."""
    base = Order.objects.filter(merchant_id=merchant_id).filter(search_clause(text[:200]))
    return {f.key: base.filter(f.where).count() for f in ORDER_FILTERS}
