"""Admission tokens: signed (HMAC-SHA256 via django.core.signing), short-lived, bound to buyer + drop.

A token is `signing.dumps({"d": drop, "u": buyer, "j": jti, "x": expires_unix_ms})` under its own
salt. Verifying costs one HMAC and a small JSON decode, no I/O. The jti (`<drop>.<epoch>.<admission
no>.<deadline ms>`) is the same for every fetch of one admission, so re-reading the status never mints
a second usable token; it is spent in PostgreSQL (`AdmissionUse`) with the reservation.
"""

import time
from dataclasses import dataclass

from django.core import signing

from commerce.waiting_room.errors import AdmissionExpired, AdmissionInvalid, AdmissionNotYours

SALT = "mintdrop.waiting_room.admission.v1"
MAX_TOKEN_LENGTH = 512


@dataclass(frozen=True)
class Admission:
    drop_id: int
    buyer_id: int
    jti: str
    expires_ms: int


def make_jti(*, drop_id: int, epoch: int, admission_no: int, deadline_ms: int) -> str:
    return f"{drop_id}.{epoch}.{admission_no}.{deadline_ms}"


def sign(admission: Admission) -> str:
    """The token a buyer presents to reserve."""
    body = {"d": admission.drop_id, "u": admission.buyer_id, "j": admission.jti, "x": admission.expires_ms}
    return signing.dumps(body, salt=SALT, compress=False)


def check(token: str, *, drop_id: int, buyer_id: int, now_ms: int | None = None) -> Admission:
    """The admission the token grants this buyer in this drop; raises an AdmissionError (403) if none."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise AdmissionInvalid("The admission token is not valid.", details={"drop_id": drop_id})
    try:
        body = signing.loads(token, salt=SALT)
        admission = Admission(
            drop_id=int(body["d"]), buyer_id=int(body["u"]), jti=str(body["j"]), expires_ms=int(body["x"])
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise AdmissionInvalid("The admission token is not valid.", details={"drop_id": drop_id}) from exc
    if admission.drop_id != drop_id or admission.buyer_id != buyer_id:
        # Someone else's token, or one for another drop: the same answer, nothing about whose.
        raise AdmissionNotYours(
            "This admission token was issued to another buyer or for another drop.",
            details={"drop_id": drop_id},
        )
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if now_ms >= admission.expires_ms:
        raise AdmissionExpired(
            "Your admission has expired; join the queue again.",
            details={"drop_id": drop_id, "expired_at_ms": admission.expires_ms},
        )
    return admission
