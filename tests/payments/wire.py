"""What went over the wire to stripe-mock: an HTTP client hook of stripe-python that records each
request (method, path, headers, decoded form body) and still sends it to the real stripe-mock."""

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

from commerce.payments.gateway import StripeApiGateway


class RecordingHttpClient(stripe.RequestsClient):
    """stripe-python's requests client that keeps a copy of every request it sends."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(timeout=10, **kwargs)
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str, url: str, headers: Any, post_data: Any = None, **kwargs: Any) -> Any:
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        self.sent.append(
            {
                "method": method.upper(),
                "path": urlsplit(url).path,
                "query": dict(parse_qsl(urlsplit(url).query)),
                "headers": {k.lower(): v for k, v in dict(headers or {}).items()},
                "form": dict(parse_qsl(body, keep_blank_values=True)),
            }
        )
        return super().request(method, url, headers, post_data, **kwargs)

    def to(self, method: str, path: str) -> list[dict[str, Any]]:
        return [r for r in self.sent if r["method"] == method and r["path"] == path]


def recording_gateway() -> tuple[StripeApiGateway, RecordingHttpClient]:
    wire = RecordingHttpClient()
    return StripeApiGateway(http_client=wire), wire


# For child processes (crash tests): the same hook, printing each request as a JSON line before sending.
CHILD_PRELUDE = """
import json
from urllib.parse import parse_qsl, urlsplit
import stripe
from commerce.payments import gateway as gw

class Printing(stripe.RequestsClient):
    def request(self, method, url, headers, post_data=None):
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        print("WIRE " + json.dumps({"method": method.upper(), "path": urlsplit(url).path,
            "key": dict(headers or {}).get("Idempotency-Key"), "form": dict(parse_qsl(body))}), flush=True)
        return super().request(method, url, headers, post_data)

gw._default = gw.StripeApiGateway(http_client=Printing(timeout=10))
"""


def child_requests(*outputs: str) -> list[dict[str, Any]]:
    import json

    return [json.loads(line[5:]) for out in outputs for line in out.splitlines() if line.startswith("WIRE ")]
