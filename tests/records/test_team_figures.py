"""Teams evaluated (#27 point 4): per team and per member across rounds, counted from a round
brought through the stages the way the product does, every figure written out by hand."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from sqlmodel import Session, select

from models.enums import ClueResult, Stage
from models.settings import Settings
from models.tables import Account, Clue, Inspection
from tasks.lifecycle import stages
from tasks.records.charts import teams_chart
from tasks.records.team_figures import (
    evaluation,
    member_evaluation,
    person_figures,
    team_evaluation,
)
from tasks.stationing import indicators as ind
from tests.conftest import NOW
from tests.support.advance import advance
from tests.support.factories import finding, make_round, round_params, team_data


def _round(s: Session, settings: Settings) -> dict[str, int]:
    params = round_params(teams=[
        team_data(name="第一巡察组", leader="李建国", deputy=None, members=["刘洋"], units=["城东街道", "区财政局"]),
        team_data(name="第二巡察组", leader="周卫东", deputy=None, members=["林静"], units=["东港社区"])])
    _, (chengdong, caizheng, donggang) = make_round(s, params)
    ind.import_indicators(session=s, by="陶文华", now=NOW, rows=[
        ind.IndicatorIn(name="三重一大", category="党的领导"), ind.IndicatorIn(name="基层党建", category="党的建设"),
        ind.IndicatorIn(name="惠民资金", category="全面从严治党", unit_kinds=["社区村"])])
    ids = {"城东街道": chengdong.id or 0, "区财政局": caizheng.id or 0, "东港社区": donggang.id or 0}
    # 城东街道: three findings, a clue; one indicator examined; the report returned once.
    advance(s, settings, ids["城东街道"], Stage.REPORTING, clues=[("违纪违法线索", "哨兵-线索")],
            findings=[finding("问题一"), finding("问题二"), finding("问题三")])
    leader = s.exec(select(Account).where(Account.name == "李建国")).one()
    stages.review_report(session=s, settings=settings, inspection_id=ids["城东街道"], search_count=1, approved=False,
                         comment="无实质性线索", now=NOW, link="")
    insp = s.get(Inspection, ids["城东街道"])
    assert insp is not None and insp.search_count == 2
    ind.record_check(session=s, account=leader, inspection=insp, indicator="三重一大", methods=["个别谈话"],
                     finding_ids=[], note="", now=NOW)
    advance(s, settings, ids["城东街道"], Stage.RECTIFICATION)
    clue = s.exec(select(Clue).where(Clue.inspection_id == ids["城东街道"])).one()
    assert clue.transferred_at is not None
    clue.result, clue.closed_at = ClueResult.NO_ISSUE, NOW
    s.add(clue)
    # 区财政局: one finding, nothing examined. 东港社区: one finding, all three indicators examined.
    advance(s, settings, ids["区财政局"], Stage.STATIONING, findings=[finding("问题四")])
    advance(s, settings, ids["东港社区"], Stage.STATIONING, findings=[finding("问题五")])
    other = s.exec(select(Account).where(Account.name == "周卫东")).one()
    dg = s.get(Inspection, ids["东港社区"])
    assert dg is not None
    for name in ("三重一大", "基层党建", "惠民资金"):
        ind.record_check(session=s, account=other, inspection=dg, indicator=name, methods=["暗访"], finding_ids=[],
                         note="", now=NOW)
    s.commit()
    return ids


def test_per_team_and_per_member(demo_org: Session, settings: Settings, tmp_path: Path) -> None:
    _round(demo_org, settings)
    teams = {r["team"]: r for r in team_evaluation(session=demo_org)}
    one, two = teams["第一巡察组"], teams["第二巡察组"]
    assert (one["units"], one["problems_found"], one["per_unit"]) == (2, 4, "2.0")
    assert one["indicators"] == "1/4（25%）"  # two indicators apply to each 街道 and 部门
    assert (one["clues_transferred"], one["no_issue"], one["cases"], one["clues_open"]) == (1, 1, 0, 0)
    assert one["returned"] == 1 and one["items"] == 3 and one["rate"] == "0.00%"
    assert (two["units"], two["problems_found"], two["indicators"], two["returned"], two["rate"]) == (1, 1, "3/3（100%）", 0, "—")

    members = {r["name"]: r for r in member_evaluation(session=demo_org)}
    assert members["李建国"]["led"] == 1 and members["刘洋"]["led"] == 0 and members["刘洋"]["teams"] == 1
    assert members["刘洋"]["indicators"] == one["indicators"] and members["林静"]["problems_found"] == 1
    assert person_figures(session=demo_org)["周卫东"]["indicators"] == "3/3（100%）"
    rows, labels = evaluation(session=demo_org, by="巡察组考评")
    assert labels["indicators"] == "指标覆盖" and labels["returned"] == "报告退回次数" and len(rows) == 2

    png = teams_chart(session=demo_org, path=tmp_path / "teams.png")
    with Image.open(png) as img:
        assert img.format == "PNG" and img.size == (1000, 560)
