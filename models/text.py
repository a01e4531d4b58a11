"""Text the product accepts and writes: one set of rules for names and free text.

On entry (forms, YAML, Excel, CSV) a name must not be blank, must not contain control characters
or path separators and must not be longer than its limit; a long text (a description) may hold
line breaks and tabs but no other control character. The rules are Annotated pydantic types, so
a refusal reaches the user through the form's own field title (models/errors.py `reason`).

On export, text stored before these rules (or written by other means) has its control
characters replaced (`printable`), so a workbook or document is still written.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

# Invisible characters that reorder or split the text a reader sees (bidi overrides and
# isolates, line and paragraph separators): refused in names like control characters.
INVISIBLE = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
SEPARATORS = "/\\"
LINE_BREAKS = "\n\t\r"

NAME_MAX = 50  # a unit, a person, a team, an account
ROUND_NAME_MAX = 100
SHORT_MAX = 200  # an area, a title, a contact, a category
LONG_MAX = 4000  # a description, evidence, a note


def is_control(ch: str) -> bool:
    """C0, DEL and C1 control characters, and the invisible reordering characters above."""
    return unicodedata.category(ch) == "Cc" or ch in INVISIBLE


def _where(text: str, allowed: str = "") -> tuple[int, str] | None:
    for i, ch in enumerate(text, 1):
        if ch not in allowed and is_control(ch):
            return i, ch
    return None


def _control_message(hit: tuple[int, str]) -> str:
    i, ch = hit
    return f"不能包含控制字符或不可见字符（第{i}个字符，U+{ord(ch):04X}）"


def _normal(value: Any) -> Any:
    return unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else value


def check_name(value: str) -> str:
    """A name: no control characters, no path separators, not only dots. Raises ValueError in Chinese."""
    hit = _where(value)
    if hit:
        raise ValueError(_control_message(hit))
    bad = sorted({ch for ch in value if ch in SEPARATORS})
    if bad:
        raise ValueError(f"不能包含路径分隔符“{'”“'.join(bad)}”")
    if value and not value.strip("."):
        raise ValueError("不能只由句点组成")
    return value


def check_text(value: str) -> str:
    """One line of text: no control characters."""
    hit = _where(value)
    if hit:
        raise ValueError(_control_message(hit))
    return value


def check_long_text(value: str) -> str:
    """Text of several lines: line breaks and tabs allowed, no other control character."""
    hit = _where(value, LINE_BREAKS)
    if hit:
        raise ValueError(_control_message(hit))
    return value


def checked(value: str, what: str, *, multiline: bool = True) -> str:
    """`value` as it is, or DomainError “<what>不能包含控制字符……” — for free text that reaches a
    domain function without a pydantic form (a petition, a clue, a result, the public page)."""
    from models.errors import DomainError

    hit = _where(value, LINE_BREAKS if multiline else "")
    if hit:
        raise DomainError(f"{what}{_control_message(hit)}，请删除后重新提交")
    return value


def first_control(fields: dict[str, str], multiline: bool = True) -> tuple[str, str] | None:
    """The first field (name, Chinese reason) holding a control or invisible character; None if none."""
    for name, value in fields.items():
        hit = _where(value, LINE_BREAKS if multiline else "")
        if hit:
            return name, _control_message(hit)
    return None


_NFC = BeforeValidator(_normal)

# The character rules, to be combined with a length at the field: `Field(title=..., min_length=1,
# max_length=NAME_MAX)` (a length inside these types would override the field's own).
NameText = Annotated[str, _NFC, AfterValidator(check_name)]
LineText = Annotated[str, _NFC, AfterValidator(check_text)]
LongText = Annotated[str, _NFC, AfterValidator(check_long_text)]
# A required name as a list item (a team's members and units), where no field carries a length.
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX), _NFC, AfterValidator(check_name)]


def printable(value: Any, replacement: str = "\ufffd") -> Any:
    """Text with every control character (except line breaks and tabs) replaced; other values as they are.
    For exports of data stored before the entry rules: Excel and Word files cannot hold them."""
    if not isinstance(value, str) or _where(value, LINE_BREAKS) is None:
        return value
    return "".join(replacement if ch not in LINE_BREAKS and is_control(ch) else ch for ch in value)
