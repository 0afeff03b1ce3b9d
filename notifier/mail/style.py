"""How the HTML part looks per event and per language: colours, symbols and fonts.

Owns the banner colours of each event and outcome (chosen to stay legible when a mail app
inverts them for dark mode), the font stack of each language (Japanese, Korean and both
Chinese scripts each name their own fonts first, so Windows does not draw Japanese with
Korean or Simplified glyph shapes) and line breaking (Korean breaks between words, not
inside them). Never holds text people read.
"""

from __future__ import annotations

from dataclasses import dataclass

_LATIN = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,'Helvetica Neue',Arial"
_FONTS: dict[str, str] = {
    "ja": "'Hiragino Sans','Hiragino Kaku Gothic ProN','Yu Gothic UI','Yu Gothic',Meiryo,"
    "'Noto Sans JP','Noto Sans CJK JP'",
    "ko": "'Apple SD Gothic Neo','Malgun Gothic','Noto Sans KR','Noto Sans CJK KR'",
    "zh_Hans": "'PingFang SC','Hiragino Sans GB','Microsoft YaHei','Noto Sans SC',"
    "'Noto Sans CJK SC'",
    "zh_Hant": "'PingFang TC','PingFang HK','Microsoft JhengHei','Noto Sans TC','Noto Sans CJK TC'",
}


@dataclass(frozen=True, slots=True)
class Style:
    """`font` and `text` are CSS declarations for inline `style` attributes."""

    font: str
    text: str


def style_for(catalog: str) -> Style:
    own = _FONTS.get(catalog, "'Noto Sans'")
    font = f"font-family:{_LATIN},{own},sans-serif;"
    # Korean is written with spaces between words; breaking inside one ("있/습니다") is wrong.
    text = "word-break:keep-all;overflow-wrap:anywhere;" if catalog == "ko" else ""
    return Style(font=font, text=text)


@dataclass(frozen=True, slots=True)
class Banner:
    background: str
    muted: str
    tint: str
    symbol: str


_BLUE = Banner("#175cd3", "#d1e0ff", "#eff4ff", "\u25b8")
_AMBER = Banner("#b54708", "#fedf89", "#fffaeb", "!")
_GREY = Banner("#475467", "#d0d5dd", "#f2f4f7", "\u25a0")
BANNERS: dict[str, Banner] = {
    "queued": Banner("#344054", "#d0d5dd", "#f2f4f7", "\u2026"),
    "started": _BLUE,
    "progress": _BLUE,
    "stalled": _AMBER,
    "stopping": _GREY,
    "succeeded": Banner("#067647", "#abefc6", "#ecfdf3", "\u2713"),
    "warnings": _AMBER,
    "failed": Banner("#b42318", "#fecdca", "#fef3f2", "\u2715"),
    "stopped": _GREY,
    "unknown": Banner("#475467", "#d0d5dd", "#f2f4f7", "?"),
}
