"""E-mail address validation shared by every layer: one rule, one clear message."""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, validate_email


class InvalidAddressError(ValueError):
    """Not a single valid e-mail address; the message says why."""


def normalize_address(value: str) -> str:
    """Return the address with its domain lower-cased (and IDNA-normalised), or raise.

    Only a bare addr-spec is accepted ("anna@firma.pl", not "Anna <anna@firma.pl>"):
    display names have their own fields. CR/LF can never pass (header injection).
    """
    if any(ch in value for ch in "\r\n\0"):
        raise InvalidAddressError("an e-mail address cannot contain line breaks")
    try:
        # test_environment: reserved test domains (example.test) are fine, and no DNS is asked.
        result = validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidAddressError(f"{value!r} is not a valid e-mail address: {exc}") from exc
    return result.normalized


@lru_cache(maxsize=4096)
def ascii_address(value: str) -> str:
    """The address as it goes into headers and SMTP envelopes without SMTPUTF8, or raise.

    A non-ASCII domain becomes its IDNA A-label (xn--…), which every server understands;
    a non-ASCII local part has no ASCII form and would need SMTPUTF8 (RFC 6531). Cached:
    building one message asks about the same addresses several times.
    """
    if any(ch in value for ch in "\r\n\0"):
        raise InvalidAddressError("an e-mail address cannot contain line breaks")
    try:
        result = validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidAddressError(f"{value!r} is not a valid e-mail address: {exc}") from exc
    if result.ascii_email is None:
        raise InvalidAddressError(
            f"{value!r} has non-ASCII characters before the @, which needs SMTPUTF8 "
            "(RFC 6531); Postroom sends only addresses whose part before the @ is ASCII"
        )
    return str(result.ascii_email)
