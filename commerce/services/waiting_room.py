"""The reserve path's waiting-room gate: in a queued drop, no reservation without a valid admission.

Kept apart from the reserve itself (`reservations.reserve_stock`, `stock.py`): a drop without a
waiting room pays one in-process dictionary lookup (`requires_admission`, cached). A queued drop
pays one HMAC check (no I/O) and one INSERT of the token's id in the reservation's own transaction,
so a token is single-use in PostgreSQL even if Redis loses everything. A refused reservation (sold
out, limit) gives the token back: the buyer may try another SKU until the admission expires.
"""

from django.db import connection, transaction
from django.utils import timezone

from commerce.errors import CommerceError
from commerce.models import Reservation
from commerce.services.reservations import reserve_stock
from commerce.waiting_room import services as rooms
from commerce.waiting_room import tokens
from commerce.waiting_room.errors import AdmissionRequired, AdmissionUsed
from commerce.waiting_room.models import AdmissionUse
from config.db.prepared import prepared_cursor

_USES = AdmissionUse._meta.db_table


def _spend(admission: tokens.Admission) -> None:
    """Inside the reservation's transaction: record the token as used, or raise AdmissionUsed.

    A concurrent use of the same token waits here on the first one's row until it commits (then
    refused) or rolls back (then it goes ahead).
    """
    with prepared_cursor() as cur:  # one per admitted reserve: planned once per connection
        cur.execute(
            f"INSERT INTO {_USES} (jti, drop_id, buyer_id, used_at) VALUES (%s, %s, %s, %s) "  # noqa: S608
            "ON CONFLICT (jti) DO NOTHING RETURNING 1",
            [admission.jti, admission.drop_id, admission.buyer_id, timezone.now()],
        )
        if cur.fetchone() is None:
            raise AdmissionUsed(
                "This admission token has already been used.", details={"drop_id": admission.drop_id}
            )


def _unspend(admission: tokens.Admission) -> None:
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {_USES} WHERE jti = %s", [admission.jti])  # noqa: S608


def _admission_required(drop_id: int) -> AdmissionRequired:
    return AdmissionRequired(
        "This drop has a waiting room: join the queue and reserve with your admission token.",
        details={"drop_id": drop_id, "queue": f"/api/v1/drops/{drop_id}/queue/"},
    )


def missing_admission(*, admission_token: str | None, drop_id: int) -> AdmissionRequired | None:
    """The refusal of a reserve without a token in a queued drop (no I/O: the room flag is cached)."""
    if admission_token or not rooms.requires_admission(drop_id=drop_id):
        return None
    return _admission_required(drop_id)


def reserve_stock_admitted(
    *, admission_token: str | None, drop_id: int, sku_id: int, buyer_id: int, quantity: int
) -> Reservation:
    """`reserve_stock`, behind the drop's waiting room when it has one (403 without a valid admission)."""
    if not rooms.requires_admission(drop_id=drop_id):
        return reserve_stock(drop_id=drop_id, sku_id=sku_id, buyer_id=buyer_id, quantity=quantity)
    if not admission_token:
        raise _admission_required(drop_id)
    admission = tokens.check(admission_token, drop_id=drop_id, buyer_id=buyer_id)
    refusal: CommerceError | None = None
    with transaction.atomic():
        _spend(admission)
        try:
            reservation = reserve_stock(drop_id=drop_id, sku_id=sku_id, buyer_id=buyer_id, quantity=quantity)
        except CommerceError as exc:  # nothing reserved: the token stays usable, housekeeping stays done
            _unspend(admission)
            refusal = exc
        else:
            transaction.on_commit(lambda: rooms.release_slot(drop_id=drop_id, buyer_id=buyer_id))
    if refusal is not None:
        raise refusal
    return reservation
