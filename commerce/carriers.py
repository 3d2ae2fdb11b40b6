"""Carriers a merchant can ship with, and the tracking link each one's site understands.

A carrier's `tracking_url` template has one `{tracking_number}` placeholder (URL-quoted when
filled in); a carrier without a template ("other") gives an empty link, which the shipment
events allow.
"""

from dataclasses import dataclass
from urllib.parse import quote

from commerce.errors import UnknownCarrier


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    tracking_url: str = ""

    def tracking_link(self, tracking_number: str) -> str:
        if not self.tracking_url:
            return ""
        return self.tracking_url.format(tracking_number=quote(tracking_number, safe=""))


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier("dhl", "DHL", "https://www.dhl.com/track?tracking-id={tracking_number}"),
        Carrier("ups", "UPS", "https://www.ups.com/track?tracknum={tracking_number}"),
        Carrier("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr={tracking_number}"),
        Carrier("usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking_number}"),
        Carrier("dpd", "DPD", "https://tracking.dpd.de/status/en_US/parcel/{tracking_number}"),
        Carrier(
            "royal_mail",
            "Royal Mail",
            "https://www.royalmail.com/track-your-item#/tracking-results/{tracking_number}",
        ),
        Carrier(
            "la_poste",
            "La Poste / Colissimo",
            "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking_number}",
        ),
        Carrier("other", "Other (no tracking link)"),
    )
}


def get_carrier(code: str) -> Carrier:
    """The carrier called `code`; raises UnknownCarrier (400) naming the known ones."""
    carrier = CARRIERS.get(code)
    if carrier is None:
        raise UnknownCarrier(
            f"Unknown carrier {code[:40]!r}.", details={"field": "carrier", "known": sorted(CARRIERS)}
        )
    return carrier
