"""Official documents rendered from the office's Word templates (docxtpl), registered with their
SHA-256 so the dossier can verify them.

One template per document kind lives in `settings.templates_dir` (default: templates/ at the
project root, built by scripts/make_templates.py); the office edits the wording and layout in
Word, the code supplies the fields. A missing template, or one whose tags do not parse or name
a field the code does not supply, is a DomainError naming the file.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from models.clock import CHINA
from models.errors import DomainError
from models.paths import inside
from models.settings import Settings
from models.tables import Document
from models.text import printable

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

# python-docx, docxtpl and Jinja (about 200 modules) are imported in render(), not here: the stage
# modules that import this one are loaded by every flow run, in a process started anew at each resume.

OFFICE = "巡察工作领导小组办公室"
LEADING_GROUP = "巡察工作领导小组"
ORDINALS = "一二三四五六七八九十"


@dataclass
class DocSpec:
    """What one document says. `kind` names it in the registry (and its file); `template` is
    the template file's name without .docx; `context` fills the template's own fields."""

    kind: str
    template: str
    title: str
    doc_no: str
    addressee: str = ""
    signature: str = OFFICE
    issuer: str = ""  # 发文机关标志 (the red header); the signature when empty
    context: dict[str, Any] = field(default_factory=dict)
    charts: list[Path] = field(default_factory=list)  # PNG files, embedded as `charts`


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def cn_date(when: datetime | date) -> str:
    """2026年12月1日 (a moment: its calendar day in China)."""
    day = when.astimezone(CHINA) if isinstance(when, datetime) and when.tzinfo else when
    return f"{day.year}年{day.month}月{day.day}日"


def ordinal(n: int) -> str:
    """（一）, （二）… for second-level headings."""
    return f"（{ORDINALS[n - 1] if n <= len(ORDINALS) else n}）"


def template_path(settings: Settings, template: str) -> Path:
    return settings.templates_dir / f"{template}.docx"


def _env() -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    # Templates come from office staff: sandboxed, and a misspelt field is an error, not a blank.
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


def fields(value: Any) -> Any:
    """Dicts as attribute namespaces, so a template's `r.items` is the field, not dict.items; text
    without control characters (a Word file cannot hold them; data stored before the entry rules)."""
    if isinstance(value, dict):
        return SimpleNamespace(**{str(k): fields(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return [fields(v) for v in value]
    return printable(value)


def _near(exc: Exception) -> str:
    lines = [s.strip() for s in getattr(exc, "docx_context", []) or [] if s.strip()]
    text = " ".join(lines)
    return f"（出错位置附近的文字：{text[:80]}）" if text else ""


def render(*, settings: Settings, spec: DocSpec, when: datetime, path: Path) -> None:
    """Fill the kind's template and write it to `path` (atomically: a temporary file, then a rename)."""
    from docx.opc.exceptions import PackageNotFoundError
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage
    from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError

    source = template_path(settings, spec.template)
    name = source.name
    if not source.is_file():
        raise DomainError(f"找不到公文模板“{name}”（模板目录：{settings.templates_dir}）。"
                          "请检查配置项 XUNCHA_TEMPLATES_DIR，或运行 scripts/make_templates.py 重新生成标准模板")
    try:
        tpl = DocxTemplate(str(source))
        tpl.init_docx()
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DomainError(f"公文模板“{name}”不是有效的 Word 文件（.docx），请用 Word 另存为 .docx 格式") from exc
    context: dict[str, Any] = {
        "title": printable(spec.title), "doc_no": printable(spec.doc_no), "addressee": printable(spec.addressee),
        "signature": printable(spec.signature), "issuer": printable(spec.issuer or spec.signature), "date": cn_date(when),
        **{k: fields(v) for k, v in spec.context.items()},
        "charts": [InlineImage(tpl, str(p), width=Mm(150)) for p in spec.charts],
    }
    try:
        tpl.render(context, jinja_env=_env(), autoescape=True)
    except UndefinedError as exc:
        m = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", str(exc))
        field_name = next((g for g in (m.groups() if m else ()) if g), str(exc))
        known = "、".join(sorted(k for k in context if not k.startswith("_")))
        raise DomainError(f"公文模板“{name}”使用了本类公文没有的字段“{field_name}”{_near(exc)}；可用字段：{known}") from exc
    except TemplateSyntaxError as exc:
        raise DomainError(f"公文模板“{name}”中的标签有误，无法解析{_near(exc)}：请检查 {{{{ }}}} 和 {{% %}} "
                          "是否成对、完整，for/if 是否都有对应的 endfor/endif") from exc
    except TemplateError as exc:
        raise DomainError(f"公文模板“{name}”无法生成公文{_near(exc)}：{exc}") from exc
    props = tpl.docx.core_properties
    # Word's core properties hold at most 255 characters (a name stored before the entry rules can be longer).
    props.title, props.author, props.comments = (str(context[k])[:255] for k in ("title", "signature", "doc_no"))
    props.created = props.modified = when.replace(tzinfo=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tpl.save(str(tmp))
    tmp.replace(path)


def find_document(*, session: Session, round_id: int, inspection_id: int | None, kind: str,
                  version: int = 1) -> Document | None:
    return session.exec(select(Document).where(
        Document.round_id == round_id, Document.inspection_id == inspection_id,
        Document.kind == kind, Document.version == version,
    )).first()


def written(*, session: Session, round_id: int, inspection_id: int | None, kind: str, version: int = 1) -> Document | None:
    """The registered document whose file is still there (a stage re-run returns it unchanged)."""
    doc = find_document(session=session, round_id=round_id, inspection_id=inspection_id, kind=kind, version=version)
    return doc if doc is not None and Path(doc.path).exists() else None


def write_document(
    *, session: Session, settings: Settings, directory: Path, round_id: int, inspection_id: int | None, spec: DocSpec,
    now: datetime, version: int = 1,
) -> Document:
    """Write (or return the already written) document of this kind and version."""
    done = written(session=session, round_id=round_id, inspection_id=inspection_id, kind=spec.kind, version=version)
    if done is not None:
        return done
    existing = find_document(session=session, round_id=round_id, inspection_id=inspection_id, kind=spec.kind,
                             version=version)  # registered, but its file is gone: written again
    name = f"{spec.kind}{'' if version == 1 else f'-第{version}稿'}.docx"
    path = inside(settings.home, directory / name)  # directories come from models/paths.py, kinds from the code
    render(settings=settings, spec=spec, when=now, path=path)
    row = existing or Document(round_id=round_id, inspection_id=inspection_id, kind=spec.kind, version=version,
                               title=spec.title, path=str(path), sha256="", created_at=now)
    row.path, row.sha256 = str(path), sha256_of(path)
    session.add(row)
    session.flush()
    return row
