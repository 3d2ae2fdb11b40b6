"""`{% flagged_buyers drop as rows %}` for the live room's flagged-buyers panel."""

from django import template

from commerce.abuse import selectors
from commerce.models import Drop

register = template.Library()


@register.simple_tag
def flagged_buyers(drop: Drop) -> list[selectors.FlaggedBuyer]:
    return selectors.flagged_buyers(drop=drop)
