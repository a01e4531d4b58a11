"""The seven stages on the domain level, against a real SQLite database and real files.

One unit goes through every stage with a returned report and a refused close-out; each stage
function is called a second time to show it adds nothing (idempotency). Clue text must never
reach an alert.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import docx
import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from models import tables
from models.enums import ClueStatus, FindingScope, ItemStatus, RoundStatus, Stage
from models.errors import DomainError
from models.settings import Settings
from tasks.clues.ledger import store_clue
from tasks.lifecycle import stages
from tasks.lifecycle.findings import record_findings
from tasks.lifecycle.rounds import settle_plan
from tasks.records.dossier import find_dossier
from tests.conftest import NOW
from tests.support.factories import finding, make_round, row_counts, sample_findings

# PostgreSQL as well (`both_databases`) only where behaviour differs by database, marked per test
# with the reason. The other stage tests check Python rules on top of the same writes: SQLite only.

SENTINEL = "哨兵-绝密-7F3A"
LINK = "http://127.0.0.1:4200/runs/flow-run/test"
DAY = timedelta(days=1)


def count(session: Session, table: type) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def keys(session: Session, inspection_id: int) -> set[str]:
    prefix = f"insp:{inspection_id}:"
    return {k.removeprefix(prefix) for k in session.exec(select(tables.Alert.dedupe_key)) if k.startswith(prefix)}


def docs(session: Session, inspection_id: int) -> dict[tuple[str, int], tables.Document]:
    return {(d.kind, d.version): d for d in session.exec(select(tables.Document).where(tables.Document.inspection_id == inspection_id))}


def docx_text(path: str | Path) -> tuple[str, str]:
    """The first paragraph (the title) and the whole text of a .docx file."""
    d = docx.Document(str(path))
    return d.paragraphs[0].text, "\n".join(p.text for p in d.paragraphs)


def twice(session: Session, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a stage function, commit, then call it again: the second call must write nothing."""
    first = fn(session=session, **kwargs)
    session.commit()
    before = row_counts(session)
    second = fn(session=session, **kwargs)
    session.commit()
    assert row_counts(session) == before, f"{fn.__name__} wrote rows on its second call"
    if not isinstance(first, tables.Document):
        assert second == first
    return first


def stage_of(session: Session, inspection_id: int) -> Stage:
    session.expire_all()
    insp = session.get(tables.Inspection, inspection_id)
    assert insp is not None
    return Stage(insp.stage)


@pytest.mark.both_databases  # every stage's writes, locks, dates and documents on the server database
def test_one_unit_through_every_stage(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    rnd, inspections = make_round(s)
    insp = inspections[0]
    assert insp.id is not None
    iid = insp.id
    kw: dict[str, Any] = {"settings": settings, "inspection_id": iid, "link": LINK}
    unit = s.get(tables.Unit, insp.unit_id)
    assert unit is not None and unit.name == "城东街道"

    # 1. 巡察准备: the announcement and a notice to the team leader.
    doc = twice(s, stages.prepare, now=NOW, **kw)
    assert stage_of(s, iid) is Stage.PREPARATION
    assert Path(doc.path).suffix == ".docx" and Path(doc.path).is_file()
    title, text = docx_text(doc.path)
    assert title == "关于对城东街道党组织开展巡察的公告" == doc.title
    assert "组长：李建国" in text and "组员：刘洋" in text
    assert doc.sha256 == hashlib.sha256(Path(doc.path).read_bytes()).hexdigest()
    assert keys(s, iid) == {"prepare"}
    leader_alert = s.exec(select(tables.Alert).where(tables.Alert.dedupe_key == f"insp:{iid}:prepare")).one()
    assert leader_alert.recipient == "json://127.0.0.1:8765/team/li"  # the leader's own contact
    assert LINK in leader_alert.body

    # 2. 集中巡察.
    assert twice(s, stages.start_stationing, now=NOW, **kw) is Stage.STATIONING
    assert keys(s, iid) == {"prepare", "station", "station-unit"}
    secretary_alert = s.exec(select(tables.Alert).where(tables.Alert.dedupe_key == f"insp:{iid}:station-unit")).one()
    assert secretary_alert.recipient == "json://127.0.0.1:8765/unit/chengdong"
    record_findings(session=s, inspection=s.get(tables.Inspection, iid), findings=sample_findings(), by="巡察组", now=NOW)  # type: ignore[arg-type]
    store_clue(session=s, inspection=s.get(tables.Inspection, iid), kind="违纪违法线索",  # type: ignore[arg-type]
             summary=f"{SENTINEL}：某副主任违规收受购物卡", by="李建国", now=NOW)
    s.commit()

    # 3. 报告巡察, first search.
    t = NOW + 20 * DAY
    assert twice(s, stages.conclude_stationing, search_count=1, by="李建国", summary="无实质性线索", now=t, **kw) is Stage.REPORTING
    report1 = docs(s, iid)[("巡察报告", 1)]
    title, text = docx_text(report1.path)
    assert title == "关于巡察城东街道党组织的情况报告"
    assert "共发现问题3个，其中立行立改1个" in text
    assert "report:1" in keys(s, iid)

    # The leading group returns the report: back to stationing for a second search.
    assert twice(s, stages.review_report, search_count=1, approved=False, comment="谈话不深入，退回重新查找", now=t, **kw) is Stage.STATIONING
    s.expire_all()
    assert s.get(tables.Inspection, iid).search_count == 2  # type: ignore[union-attr]
    returned = s.exec(select(tables.Alert).where(tables.Alert.dedupe_key == f"insp:{iid}:returned:1")).one()
    assert "谈话不深入，退回重新查找" in returned.body
    # A stale answer for the first search changes nothing.
    before = row_counts(s)
    assert stages.conclude_stationing(session=s, search_count=1, by="李建国", summary="", now=t, **kw) is Stage.STATIONING
    assert stages.review_report(session=s, search_count=1, approved=True, comment="", now=t, **kw) is Stage.STATIONING
    s.commit()
    assert row_counts(s) == before

    # Second search: one more finding, a second version of the report, approved.
    second = record_findings(session=s, inspection=s.get(tables.Inspection, iid),  # type: ignore[arg-type]
                             findings=[finding("村级工程项目未按规定招投标", category="全面从严治党")], by="巡察组", now=t)
    assert second[0].search_count == 2
    s.commit()
    t = NOW + 30 * DAY
    assert twice(s, stages.conclude_stationing, search_count=2, by="李建国", summary="已二次查找", now=t, **kw) is Stage.REPORTING
    report2 = docs(s, iid)[("巡察报告", 2)]
    assert Path(report2.path).name == "巡察报告-第2稿.docx"
    assert "共发现问题4个" in docx_text(report2.path)[1]
    assert Path(report1.path).is_file()  # the first version is kept
    assert twice(s, stages.review_report, search_count=2, approved=True, comment="", now=t, **kw) is Stage.FEEDBACK

    # 4. 巡察反馈.
    t = NOW + 40 * DAY
    assert twice(s, stages.issue_feedback, now=t, **kw) is Stage.CLUE_TRANSFER
    s.expire_all()
    assert s.get(tables.Inspection, iid).feedback_date == t.date()  # type: ignore[union-attr]
    feedback = docs(s, iid)[("巡察反馈意见", 1)]
    title, text = docx_text(feedback.path)
    assert title == "关于巡察城东街道党组织的反馈意见"
    assert "村级工程项目未按规定招投标" in text and "中共城东街道委员会" in text

    # 5. 线索移交.
    assert twice(s, stages.transfer_clues, approved=True, now=t, **kw) is Stage.RECTIFICATION
    clue = s.exec(select(tables.Clue).where(tables.Clue.inspection_id == iid)).one()
    assert (clue.status, clue.receiver) == (ClueStatus.TRANSFERRED, "discipline_commission")
    letter = docs(s, iid)[("线索移交函-纪委监委", 1)]
    assert docx_text(letter.path)[0] == "问题线索移交函"
    sent = s.exec(select(tables.ClueLetter).where(tables.ClueLetter.inspection_id == iid)).one()  # one letter, re-run or not
    assert (sent.receiver, sent.batch, sent.clue_count, sent.acknowledged_at) == ("discipline_commission", "stage", 1, None)
    to_jiwei = s.exec(select(tables.Alert).where(tables.Alert.dedupe_key == f"clue-letter:{sent.id}")).one()
    assert to_jiwei.recipient == "json://127.0.0.1:8765/jiwei"
    assert "1件" in to_jiwei.body and sent.doc_no in to_jiwei.body

    # 6. 督促整改: one item per problem not fixed on site, deadline 60 days after feedback.
    assert stages.start_rectification(session=s, now=t, **kw) == 3
    s.commit()
    before = row_counts(s)
    assert stages.start_rectification(session=s, now=t + DAY, **kw) == 0
    s.commit()
    assert row_counts(s) == before
    items = s.exec(select(tables.RectificationItem).where(tables.RectificationItem.inspection_id == iid)).all()
    assert len(items) == 3
    assert {i.deadline for i in items} == {t.date() + timedelta(days=60)}
    assert all(i.owner == "钱正平" and i.status == ItemStatus.NOT_STARTED for i in items)
    wu = s.exec(select(tables.Person).where(tables.Person.name == "吴志刚")).one()
    scopes = {s.get(tables.Finding, i.finding_id).scope: i.responsible_leader_id for i in items}  # type: ignore[union-attr]
    assert scopes == {FindingScope.INDIVIDUAL: wu.id, FindingScope.COMMON: None}
    assert {"rectify", "rectify-liaison"} <= keys(s, iid)
    to_unit = s.exec(select(tables.Alert).where(tables.Alert.dedupe_key == f"insp:{iid}:rectify")).one()
    assert f"共3项整改任务，整改期限至{t.date() + timedelta(days=60):%Y年%m月%d日}" in to_unit.body
    # The liaison leader supervises the individual problems only (the common one goes to 分管领导).
    to_liaison = s.exec(select(tables.Alert).where(tables.Alert.dedupe_key == f"insp:{iid}:rectify-liaison")).one()
    assert to_liaison.recipient == "json://127.0.0.1:8765/leader/wu"
    assert "请对2项个性问题整改进行跟踪督办" in to_liaison.body

    # 整改销号: refused once (stays in rectification), then approved.
    t = NOW + 100 * DAY
    assert twice(s, stages.close_out, approved=False, attempt=1, comment="整改材料不全", now=t, **kw) is Stage.RECTIFICATION
    assert "closeout-refused:1" in keys(s, iid)
    assert all(i.status != ItemStatus.CLOSED for i in stages.open_items(session=s, inspection_id=iid))
    # Only items the unit reported done (已完成待核) are closed; the unit moves on once all are.
    first, *rest = stages.open_items(session=s, inspection_id=iid)
    report_done(s, settings, iid, [first.id])
    assert twice(s, stages.close_out, approved=True, attempt=2, comment="", now=t, **kw) is Stage.RECTIFICATION
    assert len(stages.open_items(session=s, inspection_id=iid)) == len(rest)
    report_done(s, settings, iid, [i.id for i in rest])
    assert twice(s, stages.close_out, approved=True, attempt=3, comment="", now=t, **kw) is Stage.ARCHIVING
    assert stages.open_items(session=s, inspection_id=iid) == []

    # 7. 立卷归档.
    folder = Path(twice(s, stages.archive, now=t, **kw))
    assert stage_of(s, iid) is Stage.ARCHIVED
    assert folder == find_dossier(session=s, settings=settings, round_name=rnd.name, unit_name="城东街道")
    registered = sorted(docs(s, iid).values(), key=lambda d: d.id or 0)
    assert [(d.kind, d.version) for d in registered] == [
        ("巡察公告", 1), ("巡察报告", 1), ("巡察报告", 2), ("巡察反馈意见", 1), ("巡察成果运用函-组织部", 1),
        ("巡察成果运用函-纪委监委", 1), ("线索移交函-纪委监委", 1), ("整改通知书", 1), ("落实巡察整改工作责任建议书", 1)]
    catalogue = (folder / "卷内目录.tsv").read_text(encoding="utf-8").splitlines()
    assert catalogue[0] == "序号\t文件名称\t形成日期\t大小\t文件"
    # The documents, the records workbook and the confidential volume's index of talks.
    assert len(catalogue) == 1 + len(registered) + 2
    assert catalogue[1].startswith("1\t关于对城东街道党组织开展巡察的公告（巡察公告）")
    manifest = dict(reversed(line.split("  ", 1)) for line in (folder / "manifest.sha256").read_text(encoding="utf-8").splitlines())
    for n, d in enumerate(registered, 1):
        name = f"{n:02d}-{Path(d.path).name}"
        assert manifest[name] == d.sha256 == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    assert sorted(p.name for p in folder.iterdir()) == sorted([*manifest, "manifest.sha256"])
    assert {"卷内目录.tsv", "卷内目录.xlsx", "巡察记录.xlsx"} <= set(manifest)
    from tasks.records.dossier import verify_dossier

    assert verify_dossier(folder) == []
    assert "archived" in keys(s, iid)

    # Confidentiality: the clue's text stays in the clue table.
    assert_sentinel_only_in_clues(s, settings)


def assert_sentinel_only_in_clues(s: Session, settings: Settings) -> None:
    assert s.exec(select(tables.Clue).where(col(tables.Clue.summary).contains(SENTINEL))).first() is not None
    for alert in s.exec(select(tables.Alert)):
        assert SENTINEL not in alert.title and SENTINEL not in alert.body, alert.dedupe_key
    for event in s.exec(select(tables.AuditEvent)):
        assert SENTINEL not in json.dumps(event.detail, ensure_ascii=False)
    for d in s.exec(select(tables.Document)):
        assert SENTINEL not in docx_text(d.path)[1], d.kind
    # Nor any file written under the home folder in plain text.
    for path in settings.home.rglob("*"):
        if path.is_file() and path.suffix in (".tsv", ".sha256"):
            assert SENTINEL not in path.read_text(encoding="utf-8")


def report_done(s: Session, settings: Settings, iid: int, item_ids: list[Any]) -> None:
    from models.forms import ProgressIn
    from tasks.supervision.rectification import report_progress

    report_progress(session=s, settings=settings, inspection=s.get(tables.Inspection, iid), by="单位书记", now=NOW,  # type: ignore[arg-type]
                    formal=True, reports=[ProgressIn(item_id=i, status="已完成待核", measure_taken="已整改") for i in item_ids])


def run_through(s: Session, settings: Settings, iid: int, *, transfer: bool = True) -> None:
    kw: dict[str, Any] = {"settings": settings, "inspection_id": iid, "now": NOW, "link": LINK}
    stages.prepare(session=s, **kw)
    stages.start_stationing(session=s, **kw)
    record_findings(session=s, inspection=s.get(tables.Inspection, iid), findings=sample_findings()[:1], by="巡察组", now=NOW)  # type: ignore[arg-type]
    store_clue(session=s, inspection=s.get(tables.Inspection, iid), kind="选人用人问题", summary=f"{SENTINEL} 违规提拔", by="组长", now=NOW)  # type: ignore[arg-type]
    stages.conclude_stationing(session=s, search_count=1, by="组长", summary="", **kw)
    stages.review_report(session=s, search_count=1, approved=True, comment="", **kw)
    stages.issue_feedback(session=s, **kw)
    stages.transfer_clues(session=s, approved=transfer, **kw)
    stages.start_rectification(session=s, **kw)
    report_done(s, settings, iid, [i.id for i in stages.open_items(session=s, inspection_id=iid)])
    stages.close_out(session=s, approved=True, attempt=1, comment="", **kw)
    stages.archive(session=s, **kw)
    s.commit()


def test_round_done_when_every_unit_is_archived(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    rnd, inspections = make_round(s)
    settle_plan(session=s, round_id=rnd.id or 0, approved=True, now=NOW)  # as the round flow does first
    ids = [i.id for i in inspections]
    for n, iid in enumerate(ids):
        assert iid is not None
        run_through(s, settings, iid, transfer=(n != 1))
        s.expire_all()
        status = s.get(tables.InspectionRound, rnd.id).status  # type: ignore[union-attr]
        assert status == (RoundStatus.DONE if n == len(ids) - 1 else RoundStatus.ACTIVE)
    assert all(stage_of(s, iid) is Stage.ARCHIVED for iid in ids if iid)
    # The held clue (second unit) went nowhere: no letter, no alert to the organisation department.
    held = s.exec(select(tables.Clue).where(tables.Clue.inspection_id == ids[1])).one()
    assert (held.status, held.receiver, held.transferred_at) == (ClueStatus.HELD, "", None)
    assert ("线索移交函-组织部", 1) not in docs(s, ids[1])  # type: ignore[arg-type]
    assert not s.exec(select(tables.ClueLetter).where(tables.ClueLetter.inspection_id == ids[1])).all()
    assert ("线索移交函-组织部", 1) in docs(s, ids[0])  # type: ignore[arg-type]
    # Each unit has its own dossier folder.
    for name in ("城东街道", "区教育局", "区交通投资集团"):
        assert (find_dossier(session=s, settings=settings, round_name=rnd.name, unit_name=name) / "manifest.sha256").is_file()
    assert_sentinel_only_in_clues(s, settings)


def test_stage_functions_refuse_or_ignore_the_wrong_stage(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    _, (insp, *_) = make_round(s)
    assert insp.id is not None
    kw: dict[str, Any] = {"settings": settings, "inspection_id": insp.id, "now": NOW, "link": LINK}
    before = row_counts(s)
    # Stages that are not due leave the inspection where it is and write nothing.
    assert stages.conclude_stationing(session=s, search_count=1, by="组长", summary="", **kw) is Stage.PREPARATION
    assert stages.review_report(session=s, search_count=1, approved=True, comment="", **kw) is Stage.PREPARATION
    assert stages.issue_feedback(session=s, **kw) is Stage.PREPARATION
    assert stages.transfer_clues(session=s, approved=True, **kw) is Stage.PREPARATION
    assert stages.start_rectification(session=s, **kw) == 0
    assert stages.close_out(session=s, approved=True, attempt=1, comment="", **kw) is Stage.PREPARATION
    with pytest.raises(DomainError, match="尚未完成整改销号，不能归档（当前阶段：巡察准备）"):
        stages.archive(session=s, **kw)
    with pytest.raises(DomainError, match="巡察任务不存在：9999"):
        stages.start_stationing(session=s, **{**kw, "inspection_id": 9999})
    s.commit()
    assert row_counts(s) == before
    assert stage_of(s, insp.id) is Stage.PREPARATION


def test_missing_document_file_is_rewritten(demo_org: Session, settings: Settings) -> None:
    """If a registered file is lost, running the stage again writes it back without a second row."""
    s = demo_org
    _, (insp, *_) = make_round(s)
    assert insp.id is not None
    doc = stages.prepare(session=s, settings=settings, inspection_id=insp.id, now=NOW, link=LINK)
    s.commit()
    Path(doc.path).unlink()
    before = row_counts(s)
    again = stages.prepare(session=s, settings=settings, inspection_id=insp.id, now=NOW, link=LINK)
    s.commit()
    assert again.id == doc.id and Path(again.path).is_file()
    assert again.sha256 == hashlib.sha256(Path(again.path).read_bytes()).hexdigest()
    assert row_counts(s) == before
    assert count(s, tables.Document) == 1
