"""RFC 2047 encoded words for an unstructured header, written so that it decodes exactly.

Owns one rule: every character of the value, spaces included, travels inside an encoded
word, and the words are separated only by folding white space, which RFC 2047 (section 6.2)
tells decoders to drop between encoded words. So no decoder can lose or double a space,
whatever the script. Each word holds whole characters and is at most 75 characters; each
line keeps to the given length. Never parses headers.
"""

from __future__ import annotations

import base64

_WORD_LIMIT = 75  # RFC 2047, section 2
_B_PREFIX, _Q_PREFIX, _SUFFIX = "=?utf-8?b?", "=?utf-8?q?", "?="
# Q encoding may show these as they are in a header's text (RFC 2047, 5 (3)).
_Q_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/")


def encode_unstructured(name: str, value: str, max_line: int) -> str:
    """`name: value` as encoded words, one per line, CR LF at the end of each line."""
    quoted = _mostly_ascii(value)
    room = min(_WORD_LIMIT, max_line - len(name) - 2)  # the first line: "Name: word"
    words: list[str] = []
    chunk = ""
    for ch in value:
        if chunk and len(_word(chunk + ch, quoted)) > room:
            words.append(_word(chunk, quoted))
            chunk = ""
            room = min(_WORD_LIMIT, max_line - 1)  # continuation lines: " word"
        chunk += ch
    words.append(_word(chunk, quoted))
    return f"{name}: " + "\r\n ".join(words) + "\r\n"


def _word(text: str, quoted: bool) -> str:
    data = text.encode("utf-8")
    if quoted:
        body = "".join(
            chr(byte) if byte in _Q_PLAIN else "_" if byte == 0x20 else f"={byte:02X}"
            for byte in data
        )
        return _Q_PREFIX + body + _SUFFIX
    return _B_PREFIX + base64.b64encode(data).decode("ascii") + _SUFFIX


def _mostly_ascii(value: str) -> bool:
    """Q stays readable in raw headers for Latin text; B is shorter for CJK."""
    non_ascii = len(value) - len(value.encode("ascii", "ignore"))
    return non_ascii * 4 <= len(value)
