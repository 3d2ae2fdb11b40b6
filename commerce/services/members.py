"""Who works for a merchant and as what: owners manage members, payouts, collections and refunds; staff
run drops and shows and ship. A merchant always keeps at least one owner."""

from django.contrib.auth.models import User
from django.db import transaction

from commerce.errors import AlreadyMember, InvalidCatalogData, LastOwner, NotFound
from commerce.models import Merchant, MerchantMembership, MerchantRole


def _lock_merchant(merchant_id: int) -> None:
    """Serialise membership changes of one merchant (two owners demoting each other at once)."""
    if not Merchant.objects.select_for_update().filter(pk=merchant_id).exists():
        raise NotFound("Merchant not found.", details={"resource": "merchant", "id": merchant_id})


def _membership(merchant_id: int, user_id: int) -> MerchantMembership:
    membership = (
        MerchantMembership.objects.select_for_update()
        .select_related("user")
        .filter(merchant_id=merchant_id, user_id=user_id)
        .first()
    )
    if membership is None:
        raise NotFound("Member not found.", details={"resource": "member", "id": user_id})
    return membership


def _check_role(role: str) -> None:
    if role not in MerchantRole.values:
        raise InvalidCatalogData(f"Role must be one of {MerchantRole.values}.", details={"field": "role"})


def _check_keeps_an_owner(merchant_id: int, leaving: MerchantMembership) -> None:
    """Inside the caller's transaction (merchant locked): refuse when `leaving` is the last owner."""
    if leaving.role != MerchantRole.OWNER:
        return
    owners = MerchantMembership.objects.filter(merchant_id=merchant_id, role=MerchantRole.OWNER).count()
    if owners <= 1:
        raise LastOwner(
            "A merchant needs at least one owner: make someone else owner first.",
            details={"user_id": leaving.user_id},
        )


@transaction.atomic
def invite_member(*, merchant_id: int, username: str, role: str = MerchantRole.STAFF) -> MerchantMembership:
    """Add an existing account to the merchant's team with `role`."""
    _check_role(role)
    _lock_merchant(merchant_id)
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound("No account with this username.", details={"resource": "user", "username": username})
    if MerchantMembership.objects.filter(merchant_id=merchant_id, user=user).exists():
        raise AlreadyMember("This account is already a member.", details={"user_id": user.pk})
    return MerchantMembership.objects.create(merchant_id=merchant_id, user=user, role=role)


@transaction.atomic
def change_member_role(*, merchant_id: int, user_id: int, role: str) -> MerchantMembership:
    """Make a member owner or staff; the last owner cannot step down."""
    _check_role(role)
    _lock_merchant(merchant_id)
    membership = _membership(merchant_id, user_id)
    if membership.role != role:
        if role != MerchantRole.OWNER:
            _check_keeps_an_owner(merchant_id, membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_member(*, merchant_id: int, user_id: int) -> None:
    """Take a member off the team; the last owner cannot be removed."""
    _lock_merchant(merchant_id)
    membership = _membership(merchant_id, user_id)
    _check_keeps_an_owner(merchant_id, membership)
    membership.delete()
