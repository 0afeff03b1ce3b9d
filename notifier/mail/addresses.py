"""Recipient addresses: is what IPS gave as `submitUserEmail` one mailbox we may send to?

Owns the check and the normal form used on the SMTP envelope: one `local@domain` mailbox,
the domain in lower case and, when it is internationalised, in its ASCII (IDNA) form.
Never guesses: anything that is not plainly one mailbox (a list, a display name, angle
brackets, a comment, a line break) is refused with a reason that can be shown to people.
Never does I/O (no DNS lookups).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import lru_cache

# RFC 5321 4.5.3.1: local part at most 64 octets, a path at most 256 including "<>".
MAX_LOCAL_OCTETS = 64
MAX_DOMAIN_OCTETS = 255
MAX_ADDRESS_OCTETS = 254
MAX_LABEL_OCTETS = 63

_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_DOT_ATOM = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*")
# RFC 6531 extends atext with any non-ASCII UTF-8 character (SMTPUTF8).
_UTF8_DOT_ATOM = re.compile(rf"(?:[{_ATEXT}]|[^\x00-\x7f])+(?:\.(?:[{_ATEXT}]|[^\x00-\x7f])+)*")
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
# Printable ASCII other than '"' and '\' may stand as it is inside a quoted string.
_QTEXT = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]")
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


class InvalidAddress(ValueError):
    """The text is not one mailbox we can send to. `reason` says why, without the address."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def validate_address(raw: str | None) -> str:
    """The envelope form of `raw`, or InvalidAddress.

    Surrounding white space is dropped. The local part keeps its case (it is the receiving
    server's to interpret); a quoted local part that does not need its quotes loses them.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidAddress("no recipient address")
    if len(text) > MAX_ADDRESS_OCTETS:
        raise InvalidAddress(f"address longer than {MAX_ADDRESS_OCTETS} octets")
    return _envelope_form(text)


@lru_cache(maxsize=4096)  # each delivery's address is checked when routed and when sent
def _envelope_form(text: str) -> str:
    _reject_control_characters(text)
    local, domain = _split(text)
    local = _normal_local_part(local)
    domain = _normal_domain(domain)
    address = f"{local}@{domain}"
    if len(address.encode("utf-8")) > MAX_ADDRESS_OCTETS:
        raise InvalidAddress(f"address longer than {MAX_ADDRESS_OCTETS} octets")
    return address


def _reject_control_characters(text: str) -> None:
    for char in text:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise InvalidAddress(f"address contains a control character (U+{ord(char):04X})")


def _split(text: str) -> tuple[str, str]:
    """Local part and domain, split at the one '@' outside the quoted local part."""
    if "@" not in text:
        raise InvalidAddress("address has no '@'")
    quoted = text.startswith('"')
    if quoted:
        end = _end_of_quoted(text)
        local, rest = text[: end + 1], text[end + 1 :]
        if not rest.startswith("@"):
            raise InvalidAddress("address has a display name or text after the local part")
        domain = rest[1:]
        outside = domain
    else:
        local, _, domain = text.rpartition("@")
        outside = text
    if "<" in outside or ">" in outside:
        raise InvalidAddress("address has a display name or angle brackets")
    if "," in outside or ";" in outside:
        raise InvalidAddress("address looks like a list of addresses")
    if outside.count("@") > (0 if quoted else 1):
        raise InvalidAddress("address has more than one '@'")
    if not local:
        raise InvalidAddress("address has no local part")
    if not domain:
        raise InvalidAddress("address has no domain")
    return local, domain


def _end_of_quoted(text: str) -> int:
    """Index of the closing quote of the quoted string that starts `text`."""
    index = 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == '"':
            return index
        index += 1
    raise InvalidAddress("unterminated quoted local part")


def _normal_local_part(local: str) -> str:
    if local.startswith('"'):
        return _normal_quoted(local[1:-1])
    if any(char.isspace() for char in local):
        raise InvalidAddress("address contains white space")
    if len(local.encode("utf-8")) > MAX_LOCAL_OCTETS:
        raise InvalidAddress(f"local part longer than {MAX_LOCAL_OCTETS} octets")
    if not _UTF8_DOT_ATOM.fullmatch(local):
        raise InvalidAddress("local part has characters that need quoting, or stray dots")
    return local


def _normal_quoted(content: str) -> str:
    """A quoted local part (without its quotes), in its shortest RFC 5321 spelling."""
    chars: list[str] = []
    escaped = False
    for char in content:
        if escaped:
            if not ("\x20" <= char <= "\x7e"):
                raise InvalidAddress("quoted local part escapes a non-printable character")
            chars.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            if not _QTEXT.fullmatch(char):
                raise InvalidAddress("quoted local part has a character it may not hold")
            chars.append(char)
    value = "".join(chars)
    if not value:
        raise InvalidAddress("address has an empty quoted local part")
    if _DOT_ATOM.fullmatch(value):
        spelled = value
    else:
        spelled = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if len(spelled.encode("utf-8")) > MAX_LOCAL_OCTETS:
        raise InvalidAddress(f"local part longer than {MAX_LOCAL_OCTETS} octets")
    return spelled


def _normal_domain(domain: str) -> str:
    if domain.startswith("["):
        return _address_literal(domain)
    if any(char.isspace() for char in domain):
        raise InvalidAddress("address contains white space")
    ascii_domain = _ascii_domain(domain)
    if len(ascii_domain) > MAX_DOMAIN_OCTETS:
        raise InvalidAddress(f"domain longer than {MAX_DOMAIN_OCTETS} octets")
    for label in ascii_domain.split("."):
        if len(label) > MAX_LABEL_OCTETS:
            raise InvalidAddress(f"domain label longer than {MAX_LABEL_OCTETS} octets")
        if not _LDH_LABEL.fullmatch(label):
            raise InvalidAddress("domain is not a valid host name")
    return ascii_domain


def _ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain.lower()
    try:
        # The standard library's IDNA 2003 codec: nameprep (which also lower-cases) + punycode.
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidAddress("internationalised domain cannot be encoded (IDNA)") from exc


def _address_literal(domain: str) -> str:
    if not domain.endswith("]"):
        raise InvalidAddress("unterminated address literal")
    inner = domain[1:-1]
    try:
        if inner[:5].lower() == "ipv6:":
            return f"[IPv6:{ipaddress.IPv6Address(inner[5:]).compressed}]"
        return f"[{ipaddress.IPv4Address(inner)}]"
    except ValueError as exc:
        raise InvalidAddress("address literal is not an IP address") from exc
