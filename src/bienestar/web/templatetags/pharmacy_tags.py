"""Template helpers of the pharmacy and facility pages: rates as percentages, verification codes."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.formats import number_format

from bienestar.prescribing import codes

register = template.Library()


@register.filter
def percent(rate: Decimal | None) -> str:
    """0.3333 → "33.3 %" (decimal separator of the active language); None → "—"."""
    if rate is None:
        return "—"
    return f"{number_format(rate * 100, decimal_pos=1)} %"


@register.filter
def rx_code(value: str) -> str:
    """The verification code as printed and read aloud: XXX-XXX-XXX."""
    return codes.display(value or "")


@register.filter
def signed(value: int | None) -> str:
    """+20 / \u22125 for ledger quantities (a real minus sign, easier to read than a hyphen)."""
    if value is None:
        return ""
    return f"+{value}" if value > 0 else f"\N{MINUS SIGN}{abs(value)}"
