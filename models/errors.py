"""Named errors. Messages are Chinese because office staff read them."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Bad input or a forbidden action; never worth a retry."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.message = message
        self.problems = problems or [message]
        super().__init__(message if not problems else message + "：\n" + "\n".join(problems))


class IllegalTransition(DomainError):
    """A stage change that the transition table does not allow."""


class NotFound(DomainError):
    """A referenced record does not exist."""


def field_titles(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """The form's own titles along `loc` (nested models and list positions), for the message."""
    from typing import get_args

    from pydantic import BaseModel

    parts: list[str] = []
    current: Any = model
    for item in loc:
        if isinstance(item, int):
            parts.append(f"第{item + 1}项")
            continue
        fields = getattr(current, "model_fields", {}) if isinstance(current, type) else {}
        info = fields.get(item)
        if info is None:
            parts.append(str(item))
            current = None
            continue
        parts.append(info.title or str(item))
        ann = info.annotation
        nested = [a for a in (ann, *get_args(ann)) if isinstance(a, type) and issubclass(a, BaseModel)]
        current = nested[0] if nested else None
    return parts


def reason(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "必须填写"
    if kind == "string_too_short":
        return "不能为空" if ctx.get("min_length", 1) <= 1 else f"至少{ctx['min_length']}个字"
    if kind == "string_too_long":
        return f"不能超过{ctx.get('max_length')}个字"
    if kind == "too_short":
        return f"至少{ctx.get('min_length')}项"
    if kind == "too_long":
        return f"最多{ctx.get('max_length')}项"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace(" or ", "、").replace(", ", "、").replace("'", "")
        return f"应为{expected}之一"
    if kind.startswith("date") or kind.startswith("datetime"):
        return "应为日期，格式 YYYY-MM-DD"
    if kind.startswith("int"):
        return "应为整数"
    if kind.startswith("float") or kind.startswith("decimal"):
        return "应为数字"
    if kind.startswith("bool"):
        return "应为“是”或“否”"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        word = {"greater_than": "大于", "greater_than_equal": "不小于", "less_than": "小于", "less_than_equal": "不大于"}[kind]
        return f"应{word}{next(iter(ctx.values()), '')}"
    if kind == "extra_forbidden":
        return "无法识别的项"
    if kind in ("model_type", "dict_type", "list_type"):
        return "格式不对"
    if kind in ("string_type", "string_sub_type", "string_unicode"):
        return "应为一段文字（不能是列表或多项）"
    message = str(error["msg"]).removeprefix("Value error, ")
    # pydantic's own wording is English: never shown as it is.
    return message if any("\u4e00" <= ch <= "\u9fff" for ch in message) else "格式不对"


def explain(exc: Any, model: Any = None) -> list[str]:
    """A pydantic ValidationError as one Chinese line per problem: “field titles：reason”."""
    lines = []
    for e in exc.errors():
        where = "·".join(field_titles(model, tuple(e["loc"]))) if model is not None else "·".join(map(str, e["loc"]))
        lines.append(f"{where}：{reason(e)}" if where else reason(e))
    return lines
