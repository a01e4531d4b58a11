"""《关于落实巡察整改工作任务的函》: the letter to the leader in charge of a common problem. Written
by the common-problem supervision and filed by the dossier, so it sits apart from both (the
dossier reads statistics, which read rectification, which supervises common problems)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from models.paths import document_dir
from models.settings import Settings
from models.tables import CommonProblem, Document, InspectionRound
from tasks.infra.workdays import template_days
from tasks.records.documents import DocSpec, write_document

COMMON_TASK_KIND = "关于落实巡察整改工作任务的函"


def common_task_letter(*, session: Session, settings: Settings, problem: CommonProblem, units: list[str],
                       findings: list[tuple[str, str]], now: datetime, version: int = 1) -> Document:
    """《关于落实巡察整改工作任务的函》 to the leader in charge of a common problem (one per problem;
    a new version when findings of a later unit join it)."""
    rnd = session.get(InspectionRound, problem.round_id)
    assert rnd is not None and rnd.id is not None and problem.id is not None
    spec = DocSpec(
        kind=f"{COMMON_TASK_KIND}-{problem.id}", template=COMMON_TASK_KIND, title=COMMON_TASK_KIND,
        doc_no=f"巡察〔{rnd.start_date.year}〕领办{rnd.id}-{problem.id}号", addressee=f"{problem.leader_in_charge}同志",
        signature="巡察工作领导小组",
        context={"round_name": rnd.name, "leader": problem.leader_in_charge, "problem": problem.title,
                 "category": problem.category, "units": units, "unit_count": len(units),
                 "departments": "、".join(problem.departments) or "有关责任部门",
                 "findings": [{"no": n, "unit": u, "description": d} for n, (u, d) in enumerate(findings, 1)],
                 "plan_due_days": template_days(settings.rule("plan"))},
    )
    return write_document(session=session, settings=settings, directory=document_dir(settings, rnd.id, part="common"),
                          round_id=rnd.id, inspection_id=None, spec=spec, now=now, version=version)
