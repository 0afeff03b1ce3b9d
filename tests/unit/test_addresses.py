"""Recipient addresses from IPS submitUserEmail: one mailbox, or refused with a reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.mail.addresses import InvalidAddress, validate_address


@pytest.mark.parametrize(
    ("raw", "envelope"),
    [
        ("ana@example.com", "ana@example.com"),
        ("Ana.Silva@Example.COM", "Ana.Silva@example.com"),
        ("ana@example.com\r\n", "ana@example.com"),
        (" ana@example.com ", "ana@example.com"),
        ("o'brien+ips@example.co.uk", "o'brien+ips@example.co.uk"),
        ("user@localhost", "user@localhost"),
        # Internationalised domains travel in their ASCII form on the envelope.
        ("jose@bücher.de", "jose@xn--bcher-kva.de"),
        ("user@MÜNCHEN.de", "user@xn--mnchen-3ya.de"),
        ("li@例え.テスト", "li@xn--r8jz45g.xn--zckzah"),
        # RFC 6531 local parts are kept (the server must offer SMTPUTF8 to take them).
        ("josé@example.com", "josé@example.com"),
        # Quoted local parts: quotes dropped when not needed, kept (minimal) when needed.
        ('"john"@example.com', "john@example.com"),
        ('"john doe"@example.com', '"john doe"@example.com'),
        ('"a@b"@example.com', '"a@b"@example.com'),
        ('"a\\"b"@example.com', '"a\\"b"@example.com'),
        ('"\\j\\o"@example.com', "jo@example.com"),
        # Address literals.
        ("ops@[192.0.2.1]", "ops@[192.0.2.1]"),
        ("ops@[IPv6:2001:DB8:0:0:0:0:0:1]", "ops@[IPv6:2001:db8::1]"),
    ],
)
def test_valid_addresses_come_back_in_envelope_form(raw: str, envelope: str) -> None:
    assert validate_address(raw) == envelope


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "no recipient address"),
        ("", "no recipient address"),
        ("   ", "no recipient address"),
        ("ana.example.com", "no '@'"),
        ("ana@example.com\r\nBcc: everyone@example.com", "control character (U+000D)"),
        ("ana@example.com\nX-Injected: 1", "control character (U+000A)"),
        ("ana\x00@example.com", "control character (U+0000)"),
        ("ana\u202e@example.com", "control character (U+202E)"),
        ("ana@exam\u2028ple.com", "control character (U+2028)"),
        ("ana@example.com, bob@example.com", "list of addresses"),
        ("ana@example.com;bob@example.com", "list of addresses"),
        ("ana@example.com bob@example.com", "more than one '@'"),
        ("Ana Silva <ana@example.com>", "display name"),
        ('"Ana" <ana@example.com>', "display name"),
        ("<ana@example.com>", "display name"),
        ("ana@example.com (Ana)", "white space"),
        ("ana(x)@example.com", "need quoting"),
        ("ana silva@example.com", "white space"),
        ("a..b@example.com", "stray dots"),
        (".ana@example.com", "stray dots"),
        ("ana.@example.com", "stray dots"),
        ("@example.com", "no local part"),
        ("ana@", "no domain"),
        ("ana@@example.com", "more than one '@'"),
        ("ana@-example.com", "not a valid host name"),
        ("ana@exa_mple.com", "not a valid host name"),
        ("ana@example..com", "not a valid host name"),
        ("ana@example.com.", "not a valid host name"),
        ('"ana@example.com', "unterminated quoted"),
        ('""@example.com', "empty quoted"),
        ('"ana"x@example.com', "text after the local part"),
        ("ana@[300.1.1.1]", "not an IP address"),
        ("ana@[192.0.2.1", "unterminated address literal"),
        ("a" * 65 + "@example.com", "local part longer than 64"),
        ("ana@" + "b" * 64 + ".com", "label longer than 63"),
        ("ana@" + ".".join(["abcdefghij"] * 23) + ".com", "longer than 254"),
        ("a" * 10_000, "longer than 254"),
    ],
)
def test_invalid_addresses_are_refused_with_a_reason(raw: str | None, reason: str) -> None:
    with pytest.raises(InvalidAddress) as caught:
        validate_address(raw)
    assert reason in caught.value.reason


def test_the_reason_does_not_repeat_the_address() -> None:
    with pytest.raises(InvalidAddress) as caught:
        validate_address("secret.person@example.com\r\nBcc: x@example.com")
    assert "secret.person" not in str(caught.value)


@given(st.text(max_size=80))
def test_whatever_ips_sends_the_result_is_one_header_safe_mailbox(raw: str) -> None:
    try:
        address = validate_address(raw)
    except InvalidAddress:
        return
    assert "@" in address
    assert address.isprintable()
    assert validate_address(address) == address
