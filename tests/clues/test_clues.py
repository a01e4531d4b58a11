"""Petitions and clues: who may see and do what (table-driven), routing, transfer letters,
receipts, results, deadlines, encryption of informants and refused attempts."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from models.crypto import GM, SM4_TAG, key_file, vault
from models.enums import AccessRole, ClueKind, ClueStatus, Stage
from models.errors import DomainError
from models.settings import Settings
from models.tables import Alert, AuditEvent, Clue, ClueLetter, Document, Inspection, Petition
from tasks.clues import ledger as clues
from tasks.clues.keys import rotate_informant_key
from tasks.lifecycle import stages
from tests.conftest import LINK, NOW
from tests.support.advance import advance
from tests.support.factories import (
    in_stationing,
    letter_code,
    make_round,
    refused,
    round_params,
    team_data,
)

# PostgreSQL as well (`both_databases`) only where behaviour differs by database, marked per test
# with the reason. The role table (who reads or does what) is Python over rows read alike on both
# databases: SQLite only. Locks, once-only writes, deadlines and the encrypted columns also run on
# PostgreSQL.

DAY = timedelta(days=1)
R = AccessRole

# One demo-county account per role (deployments/demo/county.yaml). The team roles are on the
# round's team (tests/support/factories.py); OTHER_* hold the same roles but serve on no team of it.
ACTOR = {
    R.OFFICE: "陶文华", R.TEAM_LEADER: "李建国", R.TEAM_MEMBER: "刘洋", R.LEADING_GROUP: "张明",
    R.DISCIPLINE_COMMISSION: "郑文斌", R.ORGANISATION_DEPARTMENT: "吴志刚", R.DEPARTMENT: "许丽",
    R.UNIT_CONTACT: "钱正平",
}
OTHER_LEADER, OTHER_MEMBER = "周卫东", "林静"

# Who can read a clue of each kind once transferred (default routes). Written out here, not
# derived from models/access.py, so that a change of policy shows up as a failing row.
# The last two columns are a 组长 and a 组员 with no team in the round (out of scope).
#                      office leading leader member jiwei  zuzhi  dept   unit   leader' member'
CAN_READ = {
    "违纪违法线索":   (True,  True,   True,  False, True,  False, False, False, False, False),
    "选人用人问题":   (True,  True,   True,  False, False, True,  False, False, False, False),
    "信访事项":       (True,  False,  True,  True,  False, False, True,  False, False, False),
    "行业领域问题":   (True,  False,  True,  True,  False, False, True,  False, False, False),
}
ACTORS = [ACTOR[r] for r in (R.OFFICE, R.LEADING_GROUP, R.TEAM_LEADER, R.TEAM_MEMBER, R.DISCIPLINE_COMMISSION,
                             R.ORGANISATION_DEPARTMENT, R.DEPARTMENT, R.UNIT_CONTACT)] + [OTHER_LEADER, OTHER_MEMBER]

# Which role may do each action.            office leading leader member jiwei  zuzhi  dept   unit   leader' member'
CAN_DO = {
    "add_petition":                         (True,  False,  True,  True,  False, False, False, False, False, False),
    "read_petition":                        (True,  False,  True,  True,  False, False, False, False, False, False),
    "read_informant":                       (True,  False,  True,  False, False, False, False, False, False, False),
    "petition_to_clue":                     (True,  False,  True,  True,  False, False, False, False, False, False),
    "add_clue":                             (True,  False,  True,  True,  False, False, False, False, False, False),
    "transfer_urgent":                      (True,  True,   False, False, False, False, False, False, False, False),
    "list_clues":                           (True,  True,   False, False, False, False, False, False, False, False),
    "acknowledge_jiwei_letter":             (False, False,  False, False, True,  False, False, False, False, False),
    "report_jiwei_result":                  (False, False,  False, False, True,  False, False, False, False, False),
}


@pytest.fixture
def stationing(demo_org: Session, settings: Settings) -> tuple[Session, int]:
    """A round whose first unit (城东街道) is in 集中巡察."""
    return demo_org, in_stationing(demo_org, settings, now=NOW, link=LINK)


def one_clue_of_each_kind(s: Session, iid: int) -> dict[str, int]:
    return {k.value: clues.register_clue(session=s, by="李建国", inspection_id=iid, kind=k.value,
                                         summary=f"{k.value}的具体内容", now=NOW).id or 0 for k in ClueKind}


def to_clue_transfer(s: Session, settings: Settings, iid: int) -> None:
    """On through report and feedback to 线索移交, by the stage functions the flow uses."""
    advance(s, settings, iid, Stage.CLUE_TRANSFER, link=LINK)
    s.commit()


def audit_actions(s: Session) -> list[str]:
    return [e.action for e in s.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def refused_without_writing(s: Session, call: Any, message: str) -> None:
    """The call raises `message`, writes nothing but one audit entry for the refused attempt, which names the reason."""
    last = refused(s, call, message)
    assert message.split("（")[0] in last.detail["reason"]


@pytest.mark.parametrize("kind", list(CAN_READ))
def test_each_role_reads_exactly_the_clues_its_kind_allows(stationing: tuple[Session, int], settings: Settings, kind: str) -> None:
    s, iid = stationing
    ids = one_clue_of_each_kind(s, iid)
    to_clue_transfer(s, settings, iid)
    stages.transfer_clues(session=s, settings=settings, inspection_id=iid, approved=True, now=NOW, link=LINK)
    s.commit()
    for actor, allowed in zip(ACTORS, CAN_READ[kind], strict=True):
        reads = audit_actions(s).count("查阅线索")
        if allowed:
            row = clues.read_clue(session=s, by=actor, clue_id=ids[kind], now=NOW)
            assert row["内容"] == f"{kind}的具体内容", actor
            assert audit_actions(s).count("查阅线索") == reads + 1  # every read is logged
        else:
            refused_without_writing(s, lambda a=actor: clues.read_clue(session=s, by=a, clue_id=ids[kind], now=NOW),
                                    "无权查阅该线索")


def test_a_receiver_reads_only_what_was_routed_to_it(stationing: tuple[Session, int], settings: Settings) -> None:
    """The department may read petition clues, but not one still pending (not routed to it)."""
    s, iid = stationing
    cid = clues.register_clue(session=s, by="刘洋", inspection_id=iid, kind="信访事项", summary="某事项", now=NOW).id or 0
    refused_without_writing(s, lambda: clues.read_clue(session=s, by="许丽", clue_id=cid, now=NOW), "无权查阅该线索")


def attempt(s: Session, settings: Settings, iid: int, action: str, by: str) -> Any:
    """A call that does `action` as `by`, after setting up what it needs (as someone allowed)."""
    if action == "add_petition":
        return lambda: clues.add_petition(session=s, settings=settings, by=by, inspection_id=iid, channel="来电",
                                          content="反映问题", now=NOW)
    if action in ("read_petition", "read_informant", "petition_to_clue"):
        pid = clues.add_petition(session=s, settings=settings, by="陶文华", inspection_id=iid, channel="来访",
                                 content="反映问题", informant_name="王某", informant_contact="13800000000", now=NOW).id or 0
        if action == "petition_to_clue":
            return lambda: clues.petition_to_clue(session=s, settings=settings, by=by, petition_id=pid, kind="信访事项",
                                                  summary="转办", now=NOW)
        return lambda: clues.read_petition(session=s, settings=settings, by=by, petition_id=pid,
                                           informant=action == "read_informant", now=NOW)
    if action == "add_clue":
        return lambda: clues.register_clue(session=s, by=by, inspection_id=iid, kind="违纪违法线索", summary="线索", now=NOW)
    if action == "list_clues":
        return lambda: clues.open_clues(session=s, by=by, now=NOW)
    cid = clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary="急", now=NOW).id or 0
    if action == "transfer_urgent":
        return lambda: clues.transfer_urgent(session=s, settings=settings, by=by, clue_id=cid, now=NOW, link=LINK)
    letter = clues.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=cid, now=NOW, link=LINK)
    if action == "report_jiwei_result":
        clues.acknowledge(session=s, settings=settings, by="郑文斌", letter_id=letter.id or 0,
                          code=letter_code(s, letter.id or 0), now=NOW)
        return lambda: clues.report_result(session=s, settings=settings, by=by, clue_id=cid, result="初步核实", note="",
                                           now=NOW)
    assert action == "acknowledge_jiwei_letter"
    return lambda: clues.acknowledge(session=s, settings=settings, by=by, letter_id=letter.id or 0, code=letter_code(s, letter.id or 0), now=NOW)


@pytest.mark.parametrize("action", list(CAN_DO))
def test_each_role_may_do_exactly_what_the_table_says(stationing: tuple[Session, int], settings: Settings, action: str) -> None:
    s, iid = stationing
    for actor, allowed in zip(ACTORS, CAN_DO[action], strict=True):
        call = attempt(s, settings, iid, action, actor)
        if allowed:
            call()
        else:
            refused_without_writing(s, call, "无权")


def test_team_roles_reach_only_their_own_teams_units(demo_org: Session, settings: Settings) -> None:
    """Two teams in one round: each 组长/组员 acts for the units of their own team only."""
    s = demo_org
    other = team_data(name="第二巡察组", leader=OTHER_LEADER, deputy=None, members=[OTHER_MEMBER], units=["区交通投资集团"])
    _, insps = make_round(s, round_params(teams=[team_data(units=["城东街道", "区教育局"]), other]))
    for insp in insps:
        advance(s, settings, insp.id or 0, Stage.STATIONING, link=LINK)
    s.commit()
    ours, theirs = insps[0].id or 0, insps[2].id or 0
    pid = clues.add_petition(session=s, settings=settings, by="陈晓梅", inspection_id=ours, channel="来访", content="反映问题",
                             informant_name="王某", now=NOW).id or 0  # the deputy holds the leader role, on our team
    cid = clues.register_clue(session=s, by="刘洋", inspection_id=ours, kind="信访事项", summary="本组线索", now=NOW).id or 0
    outside = "该单位不由您所在的巡察组巡察"
    refused_without_writing(s, lambda: clues.read_petition(session=s, settings=settings, by=OTHER_LEADER, petition_id=pid,
                                                           informant=True, now=NOW), outside)
    refused_without_writing(s, lambda: clues.read_clue(session=s, by=OTHER_LEADER, clue_id=cid, now=NOW),
                            "无权查阅该线索（只能查阅本人所在巡察组负责单位的线索）")
    refused_without_writing(s, lambda: clues.add_petition(session=s, settings=settings, by=OTHER_MEMBER, inspection_id=ours,
                                                          channel="来电", content="反映", now=NOW), outside)
    refused_without_writing(s, lambda: clues.register_clue(session=s, by=OTHER_MEMBER, inspection_id=ours, kind="信访事项",
                                                           summary="x", now=NOW), outside)
    refused_without_writing(s, lambda: clues.petition_to_clue(session=s, settings=settings, by=OTHER_LEADER, petition_id=pid,
                                                              kind="信访事项", summary="x", now=NOW), outside)
    # On their own unit the same people may.
    own = clues.add_petition(session=s, settings=settings, by=OTHER_MEMBER, inspection_id=theirs, channel="来电",
                             content="反映", informant_name="李某", now=NOW).id or 0
    assert clues.read_petition(session=s, settings=settings, by=OTHER_LEADER, petition_id=own, informant=True,
                               now=NOW)["举报人"] == "李某"
    refused_without_writing(s, lambda: clues.read_petition(session=s, settings=settings, by="李建国", petition_id=own,
                                                           informant=True, now=NOW), outside)
    assert clues.read_clue(session=s, by="陶文华", clue_id=cid, now=NOW)["内容"] == "本组线索"  # the office: every unit


def test_someone_not_on_the_books_is_refused(stationing: tuple[Session, int], settings: Settings) -> None:
    s, iid = stationing
    refused_without_writing(s, lambda: clues.register_clue(session=s, by="路人甲", inspection_id=iid, kind="违纪违法线索",
                                                           summary="x", now=NOW), "“路人甲”不是本系统的在册用户")


@pytest.mark.both_databases  # once-only letters and alerts (insert-or-ignore per dialect)
def test_stage_transfer_writes_one_letter_per_receiver_once(stationing: tuple[Session, int], settings: Settings) -> None:
    s, iid = stationing
    ids = one_clue_of_each_kind(s, iid)
    to_clue_transfer(s, settings, iid)
    for _ in range(2):  # a re-run after a crash sends nothing twice
        stages.transfer_clues(session=s, settings=settings, inspection_id=iid, approved=True, now=NOW, link=LINK)
        s.commit()
        insp = s.get(Inspection, iid)
        assert insp is not None
        insp.stage = Stage.CLUE_TRANSFER
    letters = {lt.receiver: lt for lt in s.exec(select(ClueLetter).where(ClueLetter.inspection_id == iid))}
    assert {r: lt.clue_count for r, lt in letters.items()} == {
        "discipline_commission": 1, "organisation_department": 1, "responsible_department": 1, "functional_department": 1}
    assert all(lt.ack_due_on == (NOW + 3 * DAY).date() for lt in letters.values())
    routed = {c.id: c.receiver for c in s.exec(select(Clue).where(Clue.inspection_id == iid))}
    assert routed == {ids["违纪违法线索"]: "discipline_commission", ids["选人用人问题"]: "organisation_department",
                      ids["信访事项"]: "responsible_department", ids["行业领域问题"]: "functional_department"}
    kinds = sorted(d.kind for d in s.exec(select(Document).where(Document.inspection_id == iid)) if d.kind.startswith("线索"))
    assert kinds == ["线索移交函-信访事项责任部门", "线索移交函-纪委监委", "线索移交函-组织部", "线索移交函-行业主管部门"]
    for lt in letters.values():
        (alert,) = s.exec(select(Alert).where(Alert.dedupe_key == f"clue-letter:{lt.id}")).all()
        assert alert.body.startswith("您有1件新移交线索") and "具体内容" not in alert.body


def test_routes_come_from_settings(stationing: tuple[Session, int], settings: Settings) -> None:
    s, iid = stationing
    routed = settings.model_copy(update={"clue_routes": {**settings.clue_routes, "信访事项": "discipline_commission"}})
    cid = clues.register_clue(session=s, by="刘洋", inspection_id=iid, kind="信访事项", summary="x", now=NOW).id
    clues.transfer_urgent(session=s, settings=routed, by="陶文华", clue_id=cid or 0, now=NOW, link=LINK)
    clue = s.get(Clue, cid)
    assert clue is not None and (clue.receiver, clue.urgent, clue.status) == ("discipline_commission", True, ClueStatus.TRANSFERRED)


@pytest.mark.parametrize(("routes", "message"), [
    ({"违纪违法线索": "nobody"}, "未知的接收单位：nobody"),
    ({"其他线索": "discipline_commission"}, "未知的线索类型：其他线索"),
])
def test_a_route_to_an_unknown_receiver_is_refused_at_start(routes: dict[str, str], message: str) -> None:
    base = Settings(_env_file=None).clue_routes  # type: ignore[call-arg]
    with pytest.raises(ValueError, match=message):
        Settings(clue_routes={**base, **routes}, _env_file=None)  # type: ignore[call-arg]


def test_urgent_transfer_during_stationing_then_not_again(stationing: tuple[Session, int], settings: Settings) -> None:
    s, iid = stationing
    cid = clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary="急需核查", urgent=True,
                              now=NOW).id or 0
    letter = clues.transfer_urgent(session=s, settings=settings, by="张明", clue_id=cid, now=NOW, link=LINK)
    assert (letter.batch, letter.receiver, letter.clue_count) == (f"urgent-{cid}", "discipline_commission", 1)
    refused_without_writing(s, lambda: clues.transfer_urgent(session=s, settings=settings, by="张明", clue_id=cid, now=NOW,
                                                             link=LINK), "当前为“已移交”，不能再移交")
    # The clue-transfer stage later finds nothing pending for it.
    assert stages.pending_clue_count(session=s, inspection_id=iid) == 0


@pytest.mark.both_databases  # signing locks the letter (SELECT ... FOR UPDATE on PostgreSQL)
def test_receipt_then_results_to_closure(stationing: tuple[Session, int], settings: Settings) -> None:
    s, iid = stationing
    cid = clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary="x", now=NOW).id or 0
    letter = clues.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=cid, now=NOW, link=LINK)
    lid = letter.id or 0

    def result(by: str, outcome: str) -> Any:
        return lambda: clues.report_result(session=s, settings=settings, by=by, clue_id=cid, result=outcome, note="", now=NOW)

    refused_without_writing(s, result("郑文斌", "立案审查调查"), "移交函尚未签收，请先签收")
    refused_without_writing(s, lambda: clues.acknowledge(session=s, settings=settings, by="吴志刚", letter_id=lid, code=letter_code(s, lid), now=NOW),
                            "该线索移交给纪委监委，“组织部”无权签收线索移交函")
    refused_without_writing(s, lambda: clues.acknowledge(session=s, settings=settings, by="郑文斌", letter_id=999, code="000000", now=NOW),
                            "线索移交函不存在：999")
    clues.acknowledge(session=s, settings=settings, by="郑文斌", letter_id=lid, code=letter_code(s, lid), now=NOW + DAY)
    refused_without_writing(s, lambda: clues.acknowledge(session=s, settings=settings, by="郑文斌", letter_id=lid, code=letter_code(s, lid), now=NOW),
                            "该移交函已于")
    clue = s.get(Clue, cid)
    assert clue is not None and clue.status == ClueStatus.RECEIVED and clue.result_due_on == (NOW + 91 * DAY).date()
    refused_without_writing(s, result("郑文斌", "不了了之"), "未知的办理结果：不了了之")
    refused_without_writing(s, result("许丽", "经核查无问题"), "“职能部门”无权反馈线索办理结果")
    result("郑文斌", "初步核实")()
    s.refresh(clue)
    assert clue.status == ClueStatus.RECEIVED and clue.result == "初步核实"  # a step, not an end
    result("郑文斌", "党纪政务处分")()
    s.refresh(clue)
    assert clue.status == ClueStatus.CLOSED and clue.closed_at is not None
    refused_without_writing(s, result("郑文斌", "诫勉谈话"), "已办结")
    assert clues.open_clues(session=s, by="陶文华", now=NOW) == []
    assert "签收线索移交函" in audit_actions(s) and audit_actions(s).count("反馈线索办理结果") == 2


def test_open_clues_show_no_text(stationing: tuple[Session, int], settings: Settings) -> None:
    s, iid = stationing
    one_clue_of_each_kind(s, iid)
    rows = clues.open_clues(session=s, by="张明", now=NOW)
    assert len(rows) == 4 and all("内容" not in r for r in rows)
    assert not any("具体内容" in str(v) for r in rows for v in r.values())


@pytest.mark.both_databases  # deadline rungs over stored dates and the outbox's dedupe
def test_deadlines_remind_and_escalate_once_per_rung(stationing: tuple[Session, int], settings: Settings) -> None:
    from tasks.clues.ledger import sweep_clue_deadlines

    s, iid = stationing
    cid = clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary="x", now=NOW).id or 0
    letter = clues.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=cid, now=NOW, link=LINK)

    def sweep(days: int) -> set[str]:
        day = NOW + days * DAY
        sweep_clue_deadlines(session=s, settings=settings, as_of=day.date(), now=day, link=LINK)
        s.commit()
        return {a.role for a in s.exec(select(Alert).where(col(Alert.title).contains("催办")))}

    assert sweep(2) == set()  # not yet due (3 days)
    assert sweep(3) == {"discipline_commission"}
    assert sweep(6) == {"discipline_commission", "office"}
    assert sweep(10) == {"discipline_commission", "office", "leading_group"}
    n = len(s.exec(select(Alert)).all())
    assert sweep(11) and len(s.exec(select(Alert)).all()) == n  # each rung once
    clues.acknowledge(session=s, settings=settings, by="郑文斌", letter_id=letter.id or 0, code=letter_code(s, letter.id or 0), now=NOW + 11 * DAY)
    s.exec(select(Alert)).all()
    late = s.exec(select(Alert).where(col(Alert.title).contains("结果逾期"))).all()
    assert late == []
    sweep(11 + 91)  # the result is overdue: the receiver is reminded (weekly)
    late = s.exec(select(Alert).where(col(Alert.title).contains("结果逾期"))).all()
    assert {a.role for a in late} == {"discipline_commission"} and all("x" not in a.body for a in late)


def test_informant_is_encrypted_at_rest_and_readable_by_allowed_roles(stationing: tuple[Session, int], settings: Settings) -> None:
    s, iid = stationing
    p = clues.add_petition(session=s, settings=settings, by="刘洋", inspection_id=iid, channel="网络举报",
                           content="反映某工程质量问题", informant_name="举报人乙", informant_contact="13900001111", now=NOW)
    stored = " ".join(str(v) for row in s.execute(text("SELECT * FROM petition")) for v in row)
    assert "反映某工程质量问题" in stored and "举报人乙" not in stored and "13900001111" not in stored
    if s.get_bind().dialect.name == "sqlite":  # nor anywhere in the database files
        raw = b"".join(p.read_bytes() for p in settings.home.glob("xuncha.db*"))
        assert "举报人乙".encode() not in raw and b"13900001111" not in raw
    # Sealed in the configured profile: a Fernet token (intl) or SM4-GCM, tagged (gm).
    assert s.get(Petition, p.id).informant_enc.startswith(  # type: ignore[union-attr]
        SM4_TAG if settings.crypto_profile == GM else "gAAAAA")
    shown = clues.read_petition(session=s, settings=settings, by="李建国", petition_id=p.id or 0, informant=True, now=NOW)
    assert (shown["举报人"], shown["联系方式"]) == ("举报人乙", "13900001111")
    plain = clues.read_petition(session=s, settings=settings, by="刘洋", petition_id=p.id or 0, informant=False, now=NOW)
    assert "举报人" not in plain and plain["内容"] == "反映某工程质量问题"
    assert audit_actions(s)[-2:] == ["查阅举报人身份", "查阅信访举报"]
    anon = clues.add_petition(session=s, settings=settings, by="刘洋", inspection_id=iid, channel="意见箱", content="匿名反映",
                              now=NOW)
    assert anon.anonymous and anon.informant_enc == ""
    assert plain["匿名"] == "否"
    assert clues.read_petition(session=s, settings=settings, by="刘洋", petition_id=anon.id or 0, informant=False,
                               now=NOW)["匿名"] == "是"


@pytest.mark.both_databases  # the encrypted informant is stored as bytea on PostgreSQL, blob on SQLite
def test_key_rotation_reencrypts_every_informant(stationing: tuple[Session, int], settings: Settings) -> None:
    s, iid = stationing
    ids = [clues.add_petition(session=s, settings=settings, by="刘洋", inspection_id=iid, channel="来信", content=f"反映{i}",
                              informant_name=f"举报人{i}", now=NOW).id for i in range(3)]
    old_keys = key_file(settings).read_text().split()
    before = {p.id: p.informant_enc for p in s.exec(select(Petition))}
    assert rotate_informant_key(session=s, settings=settings, by="陶文华", now=NOW) == 3
    new_keys = key_file(settings).read_text().split()
    assert len(new_keys) == 1 and new_keys[0] not in old_keys
    s.expire_all()
    for pid in ids:
        p = s.get(Petition, pid)
        assert p is not None and p.informant_enc != before[pid]
        assert json.loads(vault(settings).decrypt(p.informant_enc))["name"].startswith("举报人")
    # A record under a key no longer live cannot be read, and says so.
    from cryptography.fernet import Fernet

    stale = Fernet(old_keys[0].encode()).encrypt(b"{}").decode()
    with pytest.raises(DomainError, match="无法解密"):
        vault(settings).decrypt(stale)
    assert "轮换加密密钥" in audit_actions(s)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("channel", "托梦", "未知的受理渠道：托梦"),
    ("content", "   ", "信访举报内容不能为空"),
    ("content", "长" * 4001, "超过4000字"),
    ("inspection_id", 999, "巡察任务不存在：999"),
])
def test_bad_petition_writes_nothing(stationing: tuple[Session, int], settings: Settings, field: str, value: Any,
                                     message: str) -> None:
    s, iid = stationing
    args: dict[str, Any] = {"channel": "来信", "content": "反映问题", "inspection_id": iid} | {field: value}
    refused_without_writing(s, lambda: clues.add_petition(session=s, settings=settings, by="刘洋", now=NOW, **args), message)


@pytest.mark.both_databases  # the letter's row lock and the code's wrong-attempt counter
def test_signing_needs_the_letters_code(stationing: tuple[Session, int], settings: Settings) -> None:
    from tasks.infra.codes import MAX_FAILURES

    s, iid = stationing
    cid = clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary="x", now=NOW).id or 0
    lid = clues.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=cid, now=NOW, link=LINK).id or 0
    first = letter_code(s, lid)
    wrong = f"{(int(first) + 1) % 10**6:06d}"

    def sign(code: str) -> Any:
        return lambda: clues.acknowledge(session=s, settings=settings, by="郑文斌", letter_id=lid, code=code, now=NOW)

    for _ in range(MAX_FAILURES - 1):
        refused_without_writing(s, sign(wrong), "签收码不正确")
    with pytest.raises(DomainError, match="原签收码已作废，新的签收码已发给接收单位"):
        sign(wrong)()
    second = letter_code(s, lid)
    if second != first:
        with pytest.raises(DomainError, match="签收码不正确"):
            sign(first)()
    letter = sign(second)()
    assert letter.acknowledged_by == "郑文斌" and letter.code_hash == ""
    refusals = [e for e in s.exec(select(AuditEvent).where(AuditEvent.entity == "clue_letter")) if "被拒绝" in e.action]
    assert len(refusals) == MAX_FAILURES + (second != first)


def test_office_ledger_counts_without_text(stationing: tuple[Session, int], settings: Settings) -> None:
    s, iid = stationing
    ids = [clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary=f"第{i}件", now=NOW).id or 0
           for i in range(3)]
    letters = [clues.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=c, now=NOW, link=LINK) for c in ids]
    for letter in letters[1:]:
        clues.acknowledge(session=s, settings=settings, by="郑文斌", letter_id=letter.id or 0,
                          code=letter_code(s, letter.id or 0), now=NOW)
    clues.report_result(session=s, settings=settings, by="郑文斌", clue_id=ids[2], result="诫勉谈话", note="", now=NOW)
    ledger = clues.clue_ledger(session=s, as_of=(NOW + 100 * DAY).date())
    assert ledger == [{"接收单位": "纪委监委", "待签收": 1, "办理中": 1, "逾期未签收": 1, "逾期未反馈": 1, "已办结": 1}]
    assert "第" not in str(ledger)


def test_a_receivers_alerts_link_to_its_page_not_the_prefect_ui(stationing: tuple[Session, int], settings: Settings) -> None:
    s, iid = stationing
    cid = clues.register_clue(session=s, by="李建国", inspection_id=iid, kind="违纪违法线索", summary="急", now=NOW).id or 0
    letter = clues.transfer_urgent(session=s, settings=settings, by="陶文华", clue_id=cid, now=NOW, link=LINK)
    s.commit()
    sent = s.exec(select(Alert).where(col(Alert.dedupe_key).startswith(f"clue-letter:{letter.id}"))).all()
    assert sent and {a.link for a in sent} == {"http://127.0.0.1:4200/office/letters"}
    # Late to sign for: the receiver's reminder links to the same page, the office's escalation to the UI.
    clues.sweep_clue_deadlines(session=s, settings=settings, as_of=letter.ack_due_on + timedelta(days=10), now=NOW, link=LINK)
    s.commit()
    late = s.exec(select(Alert).where(col(Alert.dedupe_key).contains(":late:"))).all()
    assert late and all(a.link == ("http://127.0.0.1:4200/office/letters" if a.role == "discipline_commission" else LINK)
                        for a in late), [(a.role, a.link, a.dedupe_key) for a in late]
