"""Where the product writes under its data folder (settings.home), and the guards on it.

Every path is built from ids: `documents/round-<id>/inspection-<id>/…` for documents and
`archive/round-<id>-<轮次>/unit-<id>-<单位>/` for dossiers. A name is only a display part after
the id, made safe by `display_part` (no separators, reserved or control characters, not only
dots, NFC, at most DISPLAY_MAX characters), so no name can lead outside its folder.

`inside` resolves a path and refuses (DomainError) one that is not strictly inside its base
folder. A folder is removed only by `remove_folder`, and only when the product created it
(`make_folder`/`move_folder` leave a marker file `.<folder>.xuncha` beside it) and it is inside
its base: a folder someone else put there, or a link, is refused.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

from models.errors import DomainError
from models.settings import Settings
from models.text import is_control

RESERVED = frozenset('<>:"/\\|?*')
DISPLAY_MAX = 40
ROUND_FOLDER = "综合卷"
MARKER = ".xuncha"


def display_part(name: str, limit: int = DISPLAY_MAX) -> str:
    """A name as part of a file name: NFC, without separators, reserved and control characters,
    without leading or trailing dots and spaces, cut to `limit` characters; may be empty."""
    text = unicodedata.normalize("NFC", name)
    text = "".join(" " if ch.isspace() else ch for ch in text if ch not in RESERVED and not is_control(ch))
    text = " ".join(text.split())
    return text[:limit].strip(" .")


def _named(prefix: str, ident: int, name: str) -> str:
    if not isinstance(ident, int) or isinstance(ident, bool) or ident < 0:
        raise DomainError(f"编号无效：{ident!r}")
    part = display_part(name)
    return f"{prefix}-{ident}-{part}" if part else f"{prefix}-{ident}"


def inside(base: Path, path: Path) -> Path:
    """`path` when, resolved, it lies strictly inside `base` (resolved); DomainError otherwise."""
    try:
        root, target = Path(base).resolve(), Path(path).resolve()
    except (OSError, ValueError) as exc:  # a NUL byte, a loop of links
        raise DomainError(f"拒绝访问无效的路径：{str(path)[:200]!r}") from exc
    if target == root or root not in target.parents:
        raise DomainError(f"拒绝访问数据目录之外的路径：{path}（应在 {base} 之内）")
    return Path(path)


# Documents ----------------------------------------------------------------------------------


def document_dir(settings: Settings, round_id: int, inspection_id: int | None = None, *, part: str = "") -> Path:
    """A round's (or one inspection's) documents; `part` a fixed sub-folder such as charts or common."""
    folder = settings.documents_dir / f"round-{int(round_id)}"
    if inspection_id is not None:
        folder = folder / f"inspection-{int(inspection_id)}"
    if part:
        folder = folder / part
    return inside(settings.documents_dir, folder)


# Dossiers -----------------------------------------------------------------------------------


def round_archive(settings: Settings, round_id: int, round_name: str) -> Path:
    """archive/round-<id>-<轮次>/: the round's dossiers."""
    return inside(settings.archive_dir, settings.archive_dir / _named("round", round_id, round_name))


def dossier_path(settings: Settings, round_id: int, round_name: str, unit_id: int | None = None,
                 unit_name: str = "") -> Path:
    """A unit's dossier, archive/round-<id>-<轮次>/unit-<id>-<单位>/, or without a unit the
    round's archive/round-<id>-<轮次>/综合卷/."""
    base = round_archive(settings, round_id, round_name)
    folder = base / (ROUND_FOLDER if unit_id is None else _named("unit", unit_id, unit_name))
    return inside(settings.archive_dir, folder)


def find_named(parent: Path, prefix: str, name: str) -> list[Path]:
    """The folders `<prefix>-<id>-<display part of name>` in `parent` (any id)."""
    want = display_part(name)
    pattern = re.compile(rf"{re.escape(prefix)}-\d+" + (re.escape(f"-{want}") if want else ""))
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if p.is_dir() and pattern.fullmatch(p.name))


# Folders the product created ----------------------------------------------------------------


def marker(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}{MARKER}")


def is_recorded(folder: Path) -> bool:
    return marker(folder).is_file() and folder.is_dir() and not folder.is_symlink()


def make_folder(base: Path, folder: Path) -> Path:
    """Create `folder` (inside `base`) and record that the product created it."""
    inside(base, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    marker(folder).write_text(f"{folder.name}\n", encoding="utf-8")  # before the folder: never one without it
    folder.mkdir()
    return folder


def remove_folder(base: Path, folder: Path) -> None:
    """Delete a folder the product created (recorded and inside `base`); nothing when it is absent."""
    inside(base, folder)
    if not folder.exists() and not folder.is_symlink():
        marker(folder).unlink(missing_ok=True)
        return
    if not is_recorded(folder):
        raise DomainError(f"拒绝删除目录：{folder}（不是本系统创建并登记的目录，请人工核实后处理）")
    shutil.rmtree(folder)
    marker(folder).unlink(missing_ok=True)


def move_folder(base: Path, source: Path, target: Path) -> Path:
    """Rename a recorded folder to `target` (absent), carrying its record."""
    inside(base, source)
    inside(base, target)
    if not is_recorded(source):
        raise DomainError(f"拒绝移动目录：{source}（不是本系统创建并登记的目录）")
    marker(target).write_text(f"{target.name}\n", encoding="utf-8")
    source.replace(target)
    marker(source).unlink(missing_ok=True)
    return target
