"""Reading a file the office hands in: text decoded as UTF-8, UTF-8 with a BOM or GB18030 (which
covers GBK and GB2312, common in Chinese offices), and every way it can be the wrong thing — a
folder, a missing file, a binary or oversized file, UTF-16 — answered in Chinese."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import BinaryIO

from models.errors import DomainError

MAX_TEXT_MB = 20
UTF8, UTF8_BOM, GB18030 = "UTF-8", "UTF-8（带 BOM）", "GB18030"
# C0 controls other than tab, line feed, vertical tab, form feed and carriage return: text files
# do not hold them, binary files (and files in an encoding mistaken for another) do.
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f]")


def check_file(path: Path, *, what: str, max_mb: int) -> int:
    """The file's size in bytes, or a DomainError: missing, a folder, unreadable, too large."""
    try:
        if not path.exists():
            raise DomainError(f"找不到{what}：{path}")
        if path.is_dir():
            raise DomainError(f"无法读取{what}：{path} 是文件夹，应为文件")
        size = path.stat().st_size
    except OSError as exc:
        raise DomainError(f"无法读取{what}：{path}（{exc.strerror or exc}）") from exc
    if size > max_mb * 1024 * 1024:
        raise DomainError(f"{what}过大：{path}（{size / 1024 / 1024:.1f} MB，上限 {max_mb} MB）")
    return size


def _looks_binary(text: str) -> bool:
    """Binary rather than text with a stray control character (which the field rules name, with
    its row): many control characters, more than 1% of all (real binaries also hold NULs)."""
    hits = len(_BINARY.findall(text))
    return hits >= 8 and hits * 100 > len(text)


def decode(data: bytes, *, what: str, where: str) -> tuple[str, str]:
    """(text, encoding name) for bytes in one of the accepted encodings; `where` names the source."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DomainError(f"无法读取{what}：{where} 是 UTF-16 编码，请另存为 UTF-8 或 GB18030（GBK）编码")
    if data.startswith(codecs.BOM_UTF8):
        candidates = [(data[len(codecs.BOM_UTF8):], "utf-8", UTF8_BOM)]
    else:
        candidates = [(data, "utf-8", UTF8), (data, "gb18030", GB18030)]
    if b"\x00" not in data:
        for raw, codec, name in candidates:
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError:
                continue
            if not _looks_binary(text):
                return text, name
            break
    if b"\x00" in data or _looks_binary(data.decode("latin-1")):
        raise DomainError(f"无法读取{what}：{where} 不是文本文件（含有二进制内容，可能选错了文件）")
    raise DomainError(f"无法读取{what}：{where} 的文字编码无法识别（支持 UTF-8、带 BOM 的 UTF-8、GB18030/GBK）")


def read_text(path: Path, *, what: str = "文件") -> tuple[str, str]:
    """(text, encoding name) of a text file the user gave, or a Chinese DomainError."""
    check_file(path, what=what, max_mb=MAX_TEXT_MB)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DomainError(f"无法读取{what}：{path}（{exc.strerror or exc}）") from exc
    return decode(data, what=what, where=str(path))


def read_stream(stream: BinaryIO, *, what: str = "输入内容") -> tuple[str, str]:
    """The same for standard input (read up to the size limit)."""
    limit = MAX_TEXT_MB * 1024 * 1024
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise DomainError(f"{what}过大（上限 {MAX_TEXT_MB} MB）")
    return decode(data, what=what, where="标准输入")


# The YAML reader's English problems (PyYAML's scanner and parser), as what to check on the line.
_YAML_HINTS = (
    ("found character '\\t'", "不能用 Tab 键缩进，请改用空格"),
    ("mapping values are not allowed", "此处不能有冒号：冒号后须有空格，文字中含冒号的请整段加引号"),
    ("flow mapping", "花括号 { } 没有配对，或其中各项之间缺少逗号"),
    ("flow sequence", "方括号 [ ] 没有配对，或其中各项之间缺少逗号"),
    ("quoted scalar", "引号没有配对"),
    ("could not find expected ':'", "缺少冒号（应为“项目: 内容”，冒号后有空格）"),
    ("alias", "文字以 * 或 & 开头的，请整段加引号"),
    ("anchor", "文字以 * 或 & 开头的，请整段加引号"),
    ("block", "缩进不一致：同一层的项目应对齐，下一层多缩进两个空格"),
    ("indentation", "缩进不一致：同一层的项目应对齐，下一层多缩进两个空格"),
)


def yaml_problem(exc: Exception, *, what: str) -> DomainError:
    """A YAML syntax error as a Chinese refusal naming the line (PyYAML's text stays out)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"（第{mark.line + 1}行第{mark.column + 1}列附近）" if mark is not None else ""
    text = f"{getattr(exc, 'context', '') or ''} {getattr(exc, 'problem', '') or ''}"
    hint = next((h for key, h in _YAML_HINTS if key in text), "请检查该行的缩进、冒号和引号")
    return DomainError(f"{what}不是有效的 YAML 格式{where}：{hint}")
