"""Official documents as .docx files, registered with their SHA-256 so the dossier can verify them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from docx import Document as Docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from sqlmodel import Session, select

from models.tables import Document


@dataclass
class DocSpec:
    kind: str
    title: str
    doc_no: str
    addressee: str = ""
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    signature: str = "巡察工作领导小组办公室"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _render(spec: DocSpec, when: datetime, path: Path) -> None:
    doc = Docx()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    style.font.size = Pt(14)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(spec.title)
    run.bold = True
    run.font.size = Pt(20)
    no = doc.add_paragraph(spec.doc_no)
    no.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if spec.addressee:
        doc.add_paragraph(f"{spec.addressee}：")
    for heading, lines in spec.sections:
        if heading:
            doc.add_heading(heading, level=2)
        for line in lines:
            doc.add_paragraph(line)
    sig = doc.add_paragraph(spec.signature)
    sig.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    date_p = doc.add_paragraph(f"{when.year}年{when.month}月{when.day}日")
    date_p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.core_properties.title = spec.title
    doc.core_properties.created = when.replace(tzinfo=None)
    doc.core_properties.modified = when.replace(tzinfo=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    doc.save(str(tmp))
    tmp.replace(path)


def write_document(
    *, session: Session, directory: Path, round_id: int, inspection_id: int | None, spec: DocSpec,
    now: datetime, version: int = 1,
) -> Document:
    """Write (or return the already written) document of this kind and version."""
    existing = session.exec(
        select(Document).where(
            Document.round_id == round_id, Document.inspection_id == inspection_id,
            Document.kind == spec.kind, Document.version == version,
        )
    ).first()
    if existing and Path(existing.path).exists():
        return existing
    name = f"{spec.kind}{'' if version == 1 else f'-第{version}稿'}.docx"
    path = directory / name
    _render(spec, now, path)
    row = existing or Document(round_id=round_id, inspection_id=inspection_id, kind=spec.kind, version=version,
                               title=spec.title, path=str(path), sha256="", created_at=now)
    row.path, row.sha256 = str(path), sha256_of(path)
    session.add(row)
    session.flush()
    return row
