"""Waiting-room errors (part of the commerce tree): what a buyer is told and with which status."""

from commerce.errors import CommerceError


class AdmissionError(CommerceError):
    """No valid admission for a reservation in a queued drop: nothing was reserved."""

    code = "admission_invalid"
    http_status = 403


class AdmissionRequired(AdmissionError):
    code = "admission_required"


class AdmissionInvalid(AdmissionError):
    code = "admission_invalid"


class AdmissionExpired(AdmissionError):
    code = "admission_expired"


class AdmissionNotYours(AdmissionError):
    code = "admission_not_yours"


class AdmissionUsed(AdmissionError):
    code = "admission_used"


class WaitingRoomUnavailable(CommerceError):
    """Redis (the queue's store) does not answer: the room is paused, places are not lost."""

    code = "waiting_room_paused"
    http_status = 503
    retriable = True


class NoWaitingRoom(CommerceError):
    """The drop sells without a queue: reserve directly."""

    code = "no_waiting_room"
    http_status = 409
