"""No tables: `Ops` only gives the ops page a place (and a permission) in the Django admin."""

from django.db import models


class Ops(models.Model):
    """Admin -> Monitoring -> Ops: dependency health, consumer lag, stuck sagas and transactions."""

    class Meta:
        managed = False
        verbose_name = "ops"
        verbose_name_plural = "ops"
        default_permissions = ("view",)

    def __str__(self) -> str:
        return "ops"
