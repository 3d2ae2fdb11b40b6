"""A small, strict Sign-In with Ethereum (EIP-4361) parser and verifier.

Why our own: the PyPI `siwe` package pins an older web3/eth-account and fails to import here.
This module parses exactly the EIP-4361 layout (the one the reference JavaScript library
`siwe` writes), checks every field the server cares about, and recovers the EIP-191 signer.
Smart-contract wallets (EIP-1271 signatures) are not supported: only EOAs.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_checksum_address

from nft.errors import SiweError

_HEADER = re.compile(
    r"^(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+\-.]*)://)?(?P<domain>[^\s/?#]+) "
    r"wants you to sign in with your Ethereum account:$"
)
_TAGS = (
    ("uri", "URI: ", True),
    ("version", "Version: ", True),
    ("chain_id", "Chain ID: ", True),
    ("nonce", "Nonce: ", True),
    ("issued_at", "Issued At: ", True),
    ("expiration_time", "Expiration Time: ", False),
    ("not_before", "Not Before: ", False),
    ("request_id", "Request ID: ", False),
)
_NONCE = re.compile(r"^[A-Za-z0-9]{8,}$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+\-.]*:\S+$")
CLOCK_SKEW = timedelta(minutes=2)


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: datetime
    statement: str | None = None
    scheme: str | None = None
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: list[str] = field(default_factory=list)


def _time(value: str, name: str) -> datetime:
    if not _RFC3339.match(value):
        raise SiweError(f"{name} is not an RFC 3339 date-time", details={"field": name})
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def parse_message(text: str) -> SiweMessage:
    """Parse an EIP-4361 message; raise SiweError naming the first thing that is wrong."""
    if not isinstance(text, str) or "\r" in text or len(text) > 10_000:
        raise SiweError("malformed message")
    lines = text.split("\n")
    header = _HEADER.match(lines[0]) if lines else None
    if header is None or len(lines) < 8:
        raise SiweError("not a Sign-In with Ethereum message")
    address = lines[1]
    if not is_checksum_address(address):
        raise SiweError("address must be an EIP-55 checksummed address", details={"field": "address"})
    if lines[2] != "":
        raise SiweError("malformed message: blank line expected after the address")
    statement: str | None = None
    i = 3
    if lines[3] == "":  # no statement: address LF LF LF URI
        i = 4
    else:
        statement = lines[3]
        if lines[4] != "":
            raise SiweError("malformed message: blank line expected after the statement")
        i = 5
    values: dict[str, str] = {}
    for name, prefix, required in _TAGS:
        if i < len(lines) and lines[i].startswith(prefix):
            values[name] = lines[i][len(prefix) :]
            i += 1
        elif required:
            raise SiweError(f"missing {prefix.strip(': ')}", details={"field": name})
    resources: list[str] = []
    if i < len(lines) and lines[i] == "Resources:":
        i += 1
        while i < len(lines) and lines[i].startswith("- "):
            resources.append(lines[i][2:])
            i += 1
    if i != len(lines):
        raise SiweError("malformed message: unexpected trailing lines")
    if values["version"] != "1":
        raise SiweError("unsupported version", details={"field": "version"})
    if not values["chain_id"].isdigit():
        raise SiweError("chain id must be a number", details={"field": "chain_id"})
    if not _NONCE.match(values["nonce"]):
        raise SiweError("nonce must be at least 8 alphanumeric characters", details={"field": "nonce"})
    if not _URI.match(values["uri"]) or any(not _URI.match(r) for r in resources):
        raise SiweError("URI is not valid", details={"field": "uri"})
    return SiweMessage(
        scheme=header["scheme"],
        domain=header["domain"],
        address=address,
        statement=statement,
        uri=values["uri"],
        version=values["version"],
        chain_id=int(values["chain_id"]),
        nonce=values["nonce"],
        issued_at=_time(values["issued_at"], "issued_at"),
        expiration_time=_time(values["expiration_time"], "expiration_time")
        if "expiration_time" in values
        else None,
        not_before=_time(values["not_before"], "not_before") if "not_before" in values else None,
        request_id=values.get("request_id"),
        resources=resources,
    )


def recover_signer(text: str, signature: str) -> str:
    """The address that signed `text` (EIP-191 personal_sign), or SiweError."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
        if len(raw) != 65:
            raise ValueError("a signature is 65 bytes")
        return str(Account.recover_message(encode_defunct(text=text), signature=raw))
    except (ValueError, TypeError) as exc:
        raise SiweError("signature is not valid", details={"field": "signature"}) from exc


def verify_message(
    text: str, signature: str, *, domain: str, chain_id: int, now: datetime, uri: str | None = None
) -> SiweMessage:
    """Parse and check a signed message against what this server expects (nonce is checked by the caller)."""
    message = parse_message(text)
    if message.domain != domain:
        raise SiweError("message is for another domain", details={"field": "domain"})
    if message.chain_id != chain_id:
        raise SiweError("message is for another chain", details={"field": "chain_id"})
    if uri is not None and not message.uri.startswith(uri.rstrip("/")):
        raise SiweError("message is for another URI", details={"field": "uri"})
    if message.expiration_time is not None and message.expiration_time <= now:
        raise SiweError("message has expired", details={"field": "expiration_time"})
    if message.not_before is not None and message.not_before > now + CLOCK_SKEW:
        raise SiweError("message is not valid yet", details={"field": "not_before"})
    if message.issued_at > now + CLOCK_SKEW:
        raise SiweError("message is issued in the future", details={"field": "issued_at"})
    if recover_signer(text, signature) != message.address:
        raise SiweError("signature does not match the address", details={"field": "signature"})
    return message
