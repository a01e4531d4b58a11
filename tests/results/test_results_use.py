"""巡察成果运用 (tasks/results/use.py): at feedback a results letter per unit to 组织部 (and to 纪委监委
where the unit has a discipline clue) with the findings about leadership and cadres, never a clue's
text; the receiver signs for it, records each use and closes it; late receivers are reminded like
late clue results; the figures count letters and uses per round and unit."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import docx
import pytest
from sqlmodel import Session, col, select

from models.enums import Role, Stage
from models.results_use import ResultsLetter, ResultsLetterStatus, ResultsUse
from models.settings import Settings
from models.tables import Alert, Document, Inspection
from tasks.results import use
from tests.conftest import NOW
from tests.support.advance import advance
from tests.support.factories import finding, make_round, refused, sample_findings

CLUE_SECRET = "成果运用哨兵线索-JK42"
DAY = timedelta(days=1)
ORG, JIWEI, OFFICE, LEADER = "吴志刚", "郑文斌", "陶文华", "李建国"


def fed_back(s: Session, settings: Settings) -> list[Inspection]:
    """The default round: 城东街道 with the sample findings, one outside the categories and a
    discipline clue; 区教育局 with the sample findings only; 区交通投资集团 with an engineering finding only."""
    _, insps = make_round(s)
    extra = finding("村道硬化工程未按规定招标", category="工程建设")
    advance(s, settings, insps[0].id or 0, Stage.CLUE_TRANSFER, findings=[*sample_findings(), extra],
            clues=[("违纪违法线索", CLUE_SECRET)])
    advance(s, settings, insps[1].id or 0, Stage.CLUE_TRANSFER, findings=sample_findings())
    advance(s, settings, insps[2].id or 0, Stage.CLUE_TRANSFER, findings=[extra])
    s.commit()
    return insps


def letters(s: Session, inspection_id: int) -> dict[str, ResultsLetter]:
    rows = s.exec(select(ResultsLetter).where(ResultsLetter.inspection_id == inspection_id)).all()
    return {r.receiver: r for r in rows}


def text_of(path: str) -> str:
    d = docx.Document(path)
    return "\n".join([p.text for p in d.paragraphs] + [c.text for t in d.tables for r in t.rows for c in r.cells])


def test_feedback_sends_a_letter_to_the_organisation_department_and_where_clues_exist_to_the_commission(
        demo_org: Session, settings: Settings) -> None:
    s = demo_org
    chengdong, jiaoyu, jiaotou = fed_back(s, settings)
    sent = letters(s, chengdong.id or 0)
    assert sorted(sent) == [Role.DISCIPLINE_COMMISSION.value, Role.ORGANISATION_DEPARTMENT.value]
    assert sorted(letters(s, jiaoyu.id or 0)) == [Role.ORGANISATION_DEPARTMENT.value]  # no clue: 组织部 only
    assert letters(s, jiaotou.id or 0) == {}  # no finding about leadership and cadres: no letter
    org = sent[Role.ORGANISATION_DEPARTMENT.value]
    assert len(org.finding_ids) == 3 and org.status == ResultsLetterStatus.SENT
    assert org.ack_due_on == date(2026, 12, 4)  # 3 working days from Tuesday 1 December
    assert org.doc_no == f"巡察〔2026〕成果{chengdong.id}-{org.id}号"
    docs = {d.kind: d for d in s.exec(select(Document).where(Document.inspection_id == chengdong.id))}
    letter_text = text_of(docs["巡察成果运用函-组织部"].path)
    assert "干部选拔任用程序不规范，个别岗位未经民主推荐" in letter_text and "公务接待超标准" in letter_text
    assert "村道硬化工程" not in letter_text  # not a category about leadership and cadres
    commission_text = text_of(docs["巡察成果运用函-纪委监委"].path)
    assert "问题线索按程序另行移交" in commission_text and "问题线索按程序另行移交" not in letter_text
    alerts = s.exec(select(Alert).where(col(Alert.dedupe_key).startswith("results-letter:"))).all()
    assert sorted(a.role for a in alerts) == ["discipline_commission", "organisation_department", "organisation_department"]
    for a in alerts:
        assert a.title == "【巡察成果运用】请签收" and "/office/results#results-" in a.link
    for text in [letter_text, commission_text, *(a.body for a in s.exec(select(Alert)))]:
        assert CLUE_SECRET not in text
    # The feedback stage run again (a retried task) sends nothing more.
    assert use.issue_letters(session=s, settings=settings, inspection_id=chengdong.id or 0, now=NOW + DAY) == list(sent.values())
    assert len(s.exec(select(ResultsLetter)).all()) == 3


def test_the_receiver_signs_records_its_uses_and_closes(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    chengdong, *_ = fed_back(s, settings)
    org, commission = (letters(s, chengdong.id or 0)[r.value] for r in (Role.ORGANISATION_DEPARTMENT, Role.DISCIPLINE_COMMISSION))
    oid = org.id or 0
    t = NOW + DAY
    kw = {"session": s, "letter_id": oid, "now": t}
    # Only the body it was sent to signs for it; refusals write nothing but their audit entry.
    refused(s, lambda: use.acknowledge(settings=settings, by=JIWEI, **kw), "该巡察成果运用函发给组织部")
    refused(s, lambda: use.acknowledge(settings=settings, by=OFFICE, **kw), "无权签收巡察成果运用函")
    refused(s, lambda: use.record_use(by=ORG, kind="提醒谈话", note="", on=t.date(), done=True, **kw), "尚未签收")
    signed = use.acknowledge(settings=settings, by=ORG, **kw)
    assert signed.status == ResultsLetterStatus.IN_USE and signed.use_due_on == t.date() + 90 * DAY
    refused(s, lambda: use.acknowledge(settings=settings, by=ORG, **kw), "已于.*由吴志刚签收")
    refused(s, lambda: use.record_use(by=ORG, kind="表扬", note="", on=t.date(), done=True, **kw), "请选择运用方式")
    refused(s, lambda: use.record_use(by=ORG, kind="提醒谈话", note="", on=t.date() + DAY, done=True, **kw), "晚于今天")
    refused(s, lambda: use.record_use(by=ORG, kind="年度考核", note="", on=t.date() - DAY, done=False, **kw), "早于今天")
    refused(s, lambda: use.record_use(by=ORG, kind="其他", note="", on=t.date(), done=True, **kw), "写明如何运用")
    refused(s, lambda: use.record_use(by=JIWEI, kind="提醒谈话", note="", on=t.date(), done=True, **kw), "发给组织部")
    refused(s, lambda: use.close_letter(by=ORG, **kw), "尚未登记任何运用情况")
    talk = use.record_use(by=ORG, kind="提醒谈话", note="对党组织书记进行提醒谈话", on=t.date(), done=True, **kw)
    annual = use.record_use(by=ORG, kind="年度考核", note="2026年度考核中运用", on=date(2027, 1, 20), done=False, **kw)
    assert talk.done_on == t.date() and annual.due_on == date(2027, 1, 20) and annual.done_on is None
    refused(s, lambda: use.close_letter(by=ORG, **kw), "还有1项计划运用尚未完成（年度考核，时限2027-01-20）")
    later = NOW + 50 * DAY
    refused(s, lambda: use.complete_use(session=s, by=JIWEI, use_id=annual.id or 0, on=later.date(), now=later), "发给组织部")
    use.complete_use(session=s, by=ORG, use_id=annual.id or 0, on=later.date(), now=later)
    closed = use.close_letter(session=s, by=ORG, letter_id=oid, now=later)
    assert closed.status == ResultsLetterStatus.CLOSED and closed.closed_by == ORG
    refused(s, lambda: use.record_use(by=ORG, kind="选拔任用", note="", on=later.date(), done=True, session=s,
                                      letter_id=oid, now=later), "已办结")
    # Who sees which letters: a receiving body its own only; the office and the leading group all.
    seen = {name: [ln.receiver for ln in use.letters_in_reach(session=s, by=name, now=later)]
            for name in (ORG, JIWEI, OFFICE, "张明")}
    assert seen[ORG] == ["组织部", "组织部"] and seen[JIWEI] == ["纪委监委"] and commission.id is not None
    assert sorted(seen[OFFICE]) == sorted(seen["张明"]) == ["纪委监委", "组织部", "组织部"]
    refused(s, lambda: use.letters_in_reach(session=s, by=LEADER, now=later), "无权查看巡察成果运用函")
    line = next(ln for ln in use.letters_in_reach(session=s, by=ORG, now=later) if ln.id == oid)
    assert [u.kind for u in line.uses] == ["提醒谈话", "年度考核"] and line.status == "已办结"
    assert ("选人用人", "干部选拔任用程序不规范，个别岗位未经民主推荐") in line.findings


def reminders(s: Session, prefix: str) -> list[tuple[str, str]]:
    return sorted((a.role, a.title) for a in s.exec(select(Alert).where(col(Alert.dedupe_key).startswith(prefix))))


def test_late_receivers_are_reminded_and_escalated(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    _, insps = make_round(s)
    advance(s, settings, insps[1].id or 0, Stage.CLUE_TRANSFER, findings=sample_findings())  # 区教育局: 组织部 only
    s.commit()
    (org,) = s.exec(select(ResultsLetter)).all()
    oid = org.id or 0

    def sweep(day: date) -> int:
        n = use.sweep_results(session=s, settings=settings, as_of=day, now=NOW + (day - NOW.date()))
        s.commit()
        return n

    assert sweep(org.ack_due_on - DAY) == 0
    assert sweep(org.ack_due_on) == 1 and sweep(org.ack_due_on) == 0  # each rung once
    assert sweep(org.ack_due_on + 3 * DAY) == 2  # the receiver again, and the office
    assert reminders(s, f"results-letter:{oid}:late") == [("office", "【催办】巡察成果运用函逾期未签收"),
                                                           ("organisation_department", "【催办】巡察成果运用函逾期未签收"),
                                                           ("organisation_department", "【催办】巡察成果运用函逾期未签收")]
    signed_at = NOW + 10 * DAY
    use.acknowledge(session=s, settings=settings, by=ORG, letter_id=oid, now=signed_at)
    s.refresh(org)
    assert org.use_due_on is not None
    assert sweep(org.use_due_on - DAY) == 0
    assert sweep(org.use_due_on) == 1  # no use reported by its deadline
    # A use planned beyond the deadline stops the reminders until its own date passes.
    planned_on = org.use_due_on + 30 * DAY
    use.record_use(session=s, by=ORG, letter_id=oid, kind="年度考核", note="", on=planned_on, done=False,
                   now=NOW + (org.use_due_on - NOW.date()))
    assert sweep(org.use_due_on + 7 * DAY) == 0
    assert sweep(planned_on + 7 * DAY) == 2  # a week past the planned date: the receiver and the leading group
    assert reminders(s, "results-use:")[-1] == ("organisation_department", "【催办】巡察成果运用情况逾期未反馈")
    line = use.letters_in_reach(session=s, by=ORG, now=NOW + (planned_on + 7 * DAY - NOW.date()))[0]
    assert line.overdue and line.uses[0].overdue


def test_figures_count_letters_and_uses_per_round_and_unit(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    chengdong, jiaoyu, _ = fed_back(s, settings)
    org = letters(s, chengdong.id or 0)[Role.ORGANISATION_DEPARTMENT.value]
    t = NOW + DAY
    use.acknowledge(session=s, settings=settings, by=ORG, letter_id=org.id or 0, now=t)
    for kind in ("提醒谈话", "提醒谈话", "干部考核评价"):
        use.record_use(session=s, by=ORG, letter_id=org.id or 0, kind=kind, note="", on=t.date(), done=True, now=t)
    use.record_use(session=s, by=ORG, letter_id=org.id or 0, kind="年度考核", note="", on=date(2027, 1, 20), done=False, now=t)
    assert len(s.exec(select(ResultsUse)).all()) == 4
    by_unit = {r["name"]: r for r in use.figures(session=s, by="单位")}
    assert by_unit["城东街道"] == {"name": "城东街道", "letters": 2, "signed": 1, "uses": 3, "used_letters": 1, "closed": 0,
                                "kinds": "干部考核评价1、提醒谈话2"}
    assert by_unit["区教育局"] == {"name": "区教育局", "letters": 1, "signed": 0, "uses": 0, "used_letters": 0, "closed": 0,
                                "kinds": "—"}
    (by_round,) = use.figures(session=s, by="轮次")
    assert (by_round["name"], by_round["letters"], by_round["uses"]) == ("2026年第一轮巡察", 3, 3)
    assert use.figures(session=s, by="年度", year=2025) == []
    with pytest.raises(Exception, match="统计口径应为"):
        use.figures(session=s, by="季度")
    assert jiaoyu.id is not None


def test_an_office_templates_folder_without_the_letter_gets_the_standard_one(
        demo_org: Session, settings: Settings, tmp_path: Path) -> None:
    """Upgrading must not stop feedback: an office folder made before this kind existed lacks it."""
    s = demo_org
    _, insps = make_round(s)
    advance(s, settings, insps[1].id or 0, Stage.FEEDBACK, findings=sample_findings())
    own = settings.model_copy(update={"templates_dir": tmp_path / "own-templates"})
    (sent,) = use.issue_letters(session=s, settings=own, inspection_id=insps[1].id or 0, now=NOW)
    doc = s.exec(select(Document).where(Document.kind == "巡察成果运用函-组织部")).one()
    assert sent.inspection_id == insps[1].id and "对区教育局党组织开展了巡察" in text_of(doc.path)
