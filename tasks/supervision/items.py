"""Rectification items as people name them in the plan and progress forms: by number (the item's
编号), by the problem's description, or by a line copied from a list ("编号 描述", as the plan
notice and the review form list them). Each reference resolves to exactly one item of the unit,
or to a Chinese reason why not. Finding descriptions are not confidential; nothing here reads
clue or petition text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlmodel import Session, col, select

from models.enums import ItemStatus
from models.tables import Finding, RectificationItem

LIST_WIDTH = 40  # characters of a description in a list line
ELLIPSIS = ("…", "...", "……")
# "12 描述", "12、描述", "12. 描述", "编号12：描述": a number, a separator, the rest.
NUMBERED = re.compile(r"^(?:编号)?\s*(\d+)\s*(?:[\s、.:,)\-—]|$)\s*(.*)$")


@dataclass(frozen=True)
class ItemChoice:
    id: int
    description: str
    status: ItemStatus


def unit_items(*, session: Session, inspection_id: int, open_only: bool = False) -> list[ItemChoice]:
    """The unit's rectification items with their problems, in number order."""
    q = (select(RectificationItem.id, Finding.description, RectificationItem.status)
         .join(Finding, col(Finding.id) == RectificationItem.finding_id)
         .where(RectificationItem.inspection_id == inspection_id).order_by(col(RectificationItem.id)))
    if open_only:
        q = q.where(col(RectificationItem.status) != ItemStatus.CLOSED)
    return [ItemChoice(int(i), d, ItemStatus(s)) for i, d, s in session.execute(q).all()]


def one_line(text: str, width: int = LIST_WIDTH) -> str:
    """A description on one line of a list or a Markdown table: spaces collapsed, cut at `width`."""
    flat = " ".join(text.replace("|", "｜").split())
    return flat if len(flat) <= width else flat[:width] + "…"


def list_line(item: ItemChoice, width: int = LIST_WIDTH) -> str:
    """How an item is listed, and may be given back: "编号 描述"."""
    return f"{item.id} {one_line(item.description, width)}"


def _key(text: str) -> str:
    """What two descriptions are compared on: full-width folded, spacing ignored."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def _cut(text: str) -> tuple[str, bool]:
    """The text without a trailing ellipsis, and whether it had one (a cut list line)."""
    for mark in sorted(ELLIPSIS, key=len, reverse=True):
        if text.endswith(mark):
            return text[: -len(mark)], True
    return text, False


def _by_description(text: str, items: list[ItemChoice]) -> list[int]:
    """Items whose description the text names: exactly, else as a cut list line, else as a part."""
    body, cut = _cut(_key(text))
    if not body:
        return []
    exact = [i.id for i in items if _key(i.description) == body and not cut]
    if exact:
        return exact
    starts = [i.id for i in items if _key(i.description).startswith(body)]
    if cut and starts:
        return starts
    return [i.id for i in items if body in _key(i.description)] if len(body) >= 2 else []


def resolve_item(ref: str, items: list[ItemChoice]) -> tuple[int | None, str]:
    """The item `ref` names among `items`, or None and the reason in Chinese."""
    text = " ".join(unicodedata.normalize("NFKC", ref).split())
    shown = one_line(ref, 30)
    by_id = {i.id: i for i in items}
    if not text:
        return None, "整改事项未填写（请填写编号或问题描述）"
    numbered = NUMBERED.match(text)
    if text.isdigit() or (numbered and not numbered.group(2)):  # "12", "编号12"
        n = int(numbered.group(1)) if numbered else int(text)
        return (n, "") if n in by_id else (None, f"整改事项{n}不存在或不属于该单位")
    if numbered and numbered.group(2):
        n, rest = int(numbered.group(1)), numbered.group(2)
        body, _ = _cut(_key(rest))
        if n in by_id and body and body in _key(by_id[n].description):
            return n, ""
    hits = _by_description(text, items)
    if len(hits) == 1:
        return hits[0], ""
    if len(hits) > 1:
        return None, f"“{shown}”对应多项整改事项（编号{'、'.join(map(str, hits))}），请改填编号"
    if numbered and numbered.group(2):
        n = int(numbered.group(1))
        if n in by_id:
            return None, f"“{shown}”的编号与描述不符：编号{n}是“{one_line(by_id[n].description, 30)}”"
        return None, f"整改事项{n}不存在或不属于该单位"
    return None, f"未找到整改事项“{shown}”（请填写编号、问题描述，或清单中的“编号 描述”）"


def resolve_items(refs: list[str], items: list[ItemChoice]) -> tuple[list[int], list[str]]:
    """Every reference resolved, in order, and the problems (empty when all resolved)."""
    ids, problems = [], []
    for ref in refs:
        item_id, why = resolve_item(ref, items)
        if item_id is None:
            problems.append(why)
        else:
            ids.append(item_id)
    return ids, problems
