"""Who controls a contract on chain: its Ownable `owner()` or an AccessControl DEFAULT_ADMIN_ROLE holder.

Used before a merchant may register a contract the platform did not deploy for it (the platform's
key would mint into it). Plain eth_calls: network I/O, never inside a database transaction.
"""

from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from nft import contracts
from nft.chain import client
from nft.errors import CallReverted

DEFAULT_ADMIN_ROLE = b"\x00" * 32
_OWNER = function_signature_to_4byte_selector("owner()")


def is_contract(address: str) -> bool:
    """Whether there is code at `address` (an account with no code controls nothing)."""
    code = client().rpc("eth_getCode", [to_checksum_address(address), "latest"])
    return code not in (None, "", "0x", b"")


def ownable_owner(address: str) -> str | None:
    """`owner()` of an Ownable contract, or None when it has no such function (or it reverts)."""
    try:
        data = client().call(to_checksum_address(address), _OWNER)
    except CallReverted:
        return None
    if len(data) != 32:
        return None
    try:
        return to_checksum_address(contracts.decode_one("address", data))
    except (DecodingError, ValueError):
        return None


def is_admin(address: str, account: str) -> bool:
    """AccessControl: whether `account` holds DEFAULT_ADMIN_ROLE on `address` (False if no such function)."""
    try:
        data = client().call(
            to_checksum_address(address), contracts.has_role_call(DEFAULT_ADMIN_ROLE, account)
        )
    except CallReverted:
        return False
    if len(data) != 32:
        return False
    return bool(int.from_bytes(data, "big") == 1)


def controls(*, contract: str, account: str) -> bool:
    """Whether `account` is the contract's Ownable owner or one of its AccessControl admins."""
    account = to_checksum_address(account)
    if ownable_owner(contract) == account:
        return True
    return is_admin(contract, account)
