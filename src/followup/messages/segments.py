"""SMS segment counting, the way carriers bill it (GSM 03.38 / 3GPP TS 23.038).

A body that fits the GSM 7-bit alphabet travels as GSM-7: 160 septets in a single
message, 153 per part once it is split (the user-data header takes the other 7).
Any character outside that alphabet switches the whole body to UCS-2: 70 UTF-16
code units in a single message, 67 per part.

Parts are counted by packing characters, not by dividing: a phone never receives
half of an escaped GSM character or half of a surrogate pair, so a character that
would straddle a part boundary moves whole into the next part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["SmsAnalysis", "analyze_sms", "gsm7_cost", "is_gsm7"]

# GSM 03.38 default alphabet, basic table (one septet each). Lowercase "ç" is NOT
# here: position 0x09 is capital "Ç" in the standard, even though some handsets show ç.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: sent as ESC + character, so each costs two septets.
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_GSM7_SINGLE, _GSM7_PART = 160, 153
_UCS2_SINGLE, _UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsAnalysis:
    """How a body travels: its encoding, the billed parts, and its length in units.

    `units` are septets for GSM-7 and UTF-16 code units for UCS-2.
    """

    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    units: int


def gsm7_cost(char: str) -> int | None:
    """Septets one character costs in GSM-7, or None when GSM-7 cannot carry it."""
    if char in _GSM7_BASIC:
        return 1
    if char in _GSM7_EXTENSION:
        return 2
    return None


def is_gsm7(body: str) -> bool:
    """True when every character of `body` fits the GSM 7-bit alphabet."""
    return all(gsm7_cost(char) is not None for char in body)


def _pack(costs: list[int], single: int, part: int) -> int:
    """Number of parts needed when no character may be split across two parts."""
    if sum(costs) <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def _utf16_units(char: str) -> int:
    # Characters beyond the Basic Multilingual Plane (most emoji) need a surrogate pair.
    return 2 if ord(char) > 0xFFFF else 1


def analyze_sms(body: str) -> SmsAnalysis:
    """Encoding, segment count and unit length of an SMS body, as a carrier counts them.

    An empty body still costs one segment.
    """
    gsm_costs = [gsm7_cost(char) for char in body]
    if all(cost is not None for cost in gsm_costs):
        septets = [cost for cost in gsm_costs if cost is not None]
        return SmsAnalysis("GSM-7", _pack(septets, _GSM7_SINGLE, _GSM7_PART), sum(septets))
    units = [_utf16_units(char) for char in body]
    return SmsAnalysis("UCS-2", _pack(units, _UCS2_SINGLE, _UCS2_PART), sum(units))
