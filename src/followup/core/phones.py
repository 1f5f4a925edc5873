"""Phone numbers: parse with the phonenumbers library, store E.164, never log them whole."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

# Numbers that can take a text. In North America a number can't be told apart from a
# landline, so FIXED_LINE_OR_MOBILE is accepted; the provider's 21614 catches the rest.
_TEXTABLE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


class InvalidPhone(ValueError):
    """A phone number that is malformed, impossible, or cannot receive SMS."""


def normalize_phone(raw: str, region: str, *, require_mobile: bool = True) -> str:
    """Return `raw` in E.164, reading it as a number of `region` (ISO 3166 alpha-2) if local."""
    text = raw.strip()
    if not text:
        raise InvalidPhone("phone number is empty")
    try:
        number = phonenumbers.parse(text, region.upper())
    except NumberParseException as exc:
        raise InvalidPhone(f"{text!r} is not a phone number ({exc._msg})") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"{text!r} is not a valid phone number for region {region.upper()}")
    if require_mobile and phonenumbers.number_type(number) not in _TEXTABLE:
        raise InvalidPhone(f"{text!r} does not look like a mobile number that can receive SMS")
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def display_phone(e164: str) -> str:
    """A number the way people in its country write it, e.g. (403) 555-0134."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    return str(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))


def mask_phone(number: str | None) -> str:
    """For logs: keep the country code and the last two digits, e.g. +1********67."""
    if not number:
        return "-"
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) <= 4:
        return "*" * len(number)
    try:
        country = str(phonenumbers.parse(number, None).country_code)
    except NumberParseException:
        # Not in international form: no country code we could honestly show.
        return "*" * (len(digits) - 2) + digits[-2:]
    hidden = len(digits) - len(country) - 2
    return f"+{country}{'*' * hidden}{digits[-2:]}"
