"""A drop's waiting-room settings and the durable half of its state (Redis holds the queue)."""

from django.db import models

from commerce.models import Drop


class RoomMode(models.TextChoices):
    AUTO = "auto", "On when the drop offers at least COMMERCE_WAITING_ROOM_MIN_UNITS units"
    ON = "on", "On"
    OFF = "off", "Off"


class WaitingRoom(models.Model):
    """One per drop that has been configured or opened; a drop without a row is in `auto` mode."""

    drop = models.OneToOneField(Drop, on_delete=models.CASCADE, primary_key=True, related_name="waiting_room")
    mode = models.CharField(max_length=4, choices=RoomMode.choices, default=RoomMode.AUTO)
    admit_per_second = models.FloatField(
        null=True,
        blank=True,
        help_text="Buyers admitted per second; empty: COMMERCE_WAITING_ROOM_ADMIT_PER_SECOND.",
    )
    # Set when the queue first opened (the drop's start). A live room whose Redis state is gone
    # while this is set has lost its queue: it is rebuilt under a new epoch (services.rooms).
    opened_at = models.DateTimeField(null=True, blank=True)
    epoch = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(admit_per_second__isnull=True) | models.Q(admit_per_second__gt=0),
                name="waitingroom_rate_positive",
            )
        ]

    def __str__(self) -> str:
        return f"waiting room of drop {self.drop_id} ({self.mode})"


class AdmissionUse(models.Model):
    """An admission token's id, spent in the transaction that created the reservation.

    The primary key makes a token single-use whatever happened to Redis: a second reservation with
    the same token collides here and rolls back.
    """

    jti = models.CharField(max_length=80, primary_key=True)
    drop_id = models.BigIntegerField()
    buyer_id = models.BigIntegerField()
    used_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.jti
