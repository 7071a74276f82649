"""Free text that people type (names, reasons, comments, pledge terms): what it may not hold.

Refused, with a sentence the person can act on:

- lone UTF-16 surrogates (U+D800–U+DFFF): not text at all, they cannot be stored as UTF-8;
- control characters (C0 and C1, DEL) other than line breaks and tabs where lines are allowed;
- invisible formatting that changes how text reads or compares without showing: bidirectional
  overrides and isolates (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) and zero-width
  characters (U+200B–U+200D, U+2060, U+FEFF). A name "王伟" with a zero-width space is a
  different name that looks the same; a reversed run of text can make a reason say what it
  does not.

What is kept is stored in Unicode normalization form C (:func:`typed`): "é" typed as e plus
a combining accent and "é" typed as one character are the same text, so they compare, search
and deduplicate as the same.
"""

from __future__ import annotations

import unicodedata

_INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e"
    "\u2066\u2067\u2068\u2069"
)
_LINE_BREAKS = frozenset("\n\r\t")


def text_problem(value: str, *, multiline: bool = True) -> str | None:
    """Why ``value`` may not be stored, in Chinese; ``None`` when it may."""
    for ch in value:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            return "含有无法识别的字符（单独的代理码位），请删除后重新输入"
        if ch in _LINE_BREAKS:
            if not multiline:
                return "不能包含换行或制表符"
            continue
        if code < 0x20 or 0x7F <= code <= 0x9F:
            return "含有控制字符，请删除后重新输入"
        if ch in _INVISIBLE:
            return "含有不可见的格式字符（如零宽字符或文字方向控制符），请删除后重新输入"
    return None


def typed(value: str) -> str:
    """Typed text as it is stored: NFC, surrounding whitespace removed."""
    return unicodedata.normalize("NFC", value).strip()
