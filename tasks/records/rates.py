"""How a rate reads in statistics, charts, documents and the rectification overview: a leaf
module (it imports nothing of the product), so records and supervision both use it without
importing each other."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def rate_text(done: int, total: int) -> str:
    """Exact percentage with two decimals, rounded half up: 590 of 1,172 → '50.34%'."""
    if total == 0:
        return "—"
    pct = (Decimal(done) * 100 / Decimal(total)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{pct}%"
