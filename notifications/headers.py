"""Header values built from data users and merchants typed: never a way to inject a header.

A store called "Shop\r\nBcc: x@y" must end up as the display name "Shop Bcc: x@y" of a single
From header. Control characters (CR, LF, TAB, NUL, ...) become spaces, runs of spaces collapse and
the result is cut to a sane length; `email.utils.formataddr` then quotes it, and Django's
`sanitize_address` encodes non-ASCII names when the message is built.
"""

import hashlib
import re
import unicodedata
from email.utils import formataddr

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


def one_line(value: str, *, max_length: int = 200) -> str:
    """`value` as a single header-safe line: no control characters, at most `max_length` characters."""
    cleaned = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in _CONTROL.sub(" ", value))
    return _SPACES.sub(" ", cleaned).strip()[:max_length].strip()


def from_header(display_name: str, address: str) -> str:
    """`"Display Name" <address>` with the name made header-safe."""
    return formataddr((one_line(display_name, max_length=100), one_line(address, max_length=254)))


def message_id(*, dedupe_key: str, user_id: int | None, domain: str) -> str:
    """A Message-ID derived from (event, recipient): the same message re-sent carries the same id."""
    digest = hashlib.sha256(f"{dedupe_key}:{user_id}".encode()).hexdigest()[:32]
    return f"<{digest}@{one_line(domain, max_length=100)}>"
