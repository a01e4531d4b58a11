"""整改事项 by units at the gateway (/office/rectification), in-process, role by role: a unit
contact sees and reports for their own unit only, another unit's contact is refused, the office
sees every unit, a team member is refused; forms without the session's CSRF token or from
another site change nothing; a plan from the page is the deployment's plan (same checks, same
audit record, the waiting unit run woken); 我的待办 lists the contact's own unit's items."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from deployments.gateway import rectification
from deployments.gateway.app import create_app
from deployments.ops.stack import free_port
from models.clock import now as clock_now
from models.db import session_scope
from models.enums import AccessRole, ItemStatus, Stage
from models.settings import get_settings
from models.tables import Account, AuditEvent, Inspection, ProgressReport, RectificationItem, Unit
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.advance import advance
from tests.support.factories import make_round, sample_findings
from tests.support.gateway import ORIGIN, csrf, logged_in

PAGE = "/office/rectification"
REAL_WAKE = rectification.wake_plan


@dataclass
class World:
    app: Starlette
    units: dict[str, int]  # unit name -> unit id
    inspections: dict[str, int]  # unit name -> inspection id
    items: dict[str, set[int]]  # unit name -> its item numbers
    woken: list[tuple[int, str]]


@pytest.fixture
def world(cli_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    settings = get_settings()
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    with session_scope() as s:
        _, insps = make_round(s)  # 城东街道, 区教育局, 区交通投资集团
        for insp in insps:
            advance(s, settings, insp.id or 0, Stage.RECTIFICATION, findings=sample_findings(), link="")
        insps[0].flow_run_id = "run-of-chengdong"  # waits for the plan
        s.add(insps[0])
        # 区教育局's contact (沈红梅) gets an account: a contact of another unit in the same round.
        s.add(Account(name="沈红梅", role=AccessRole.UNIT_CONTACT, created_at=clock_now()))
        s.commit()
        units, inspections, items = {}, {}, {}
        for insp in insps:
            unit = s.get(Unit, insp.unit_id)
            assert unit is not None and unit.id is not None and insp.id is not None
            units[unit.name], inspections[unit.name] = unit.id, insp.id
            items[unit.name] = {i.id for i in s.exec(select(RectificationItem)
                                                     .where(RectificationItem.inspection_id == insp.id)) if i.id}
    woken: list[tuple[int, str]] = []

    def wake(upstream: str, inspection_id: int, flow_run_id: str) -> bool:
        assert upstream == app_upstream  # the gateway's own Prefect server
        woken.append((inspection_id, flow_run_id))
        return True

    app_upstream = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(rectification, "wake_plan", wake)
    yield World(create_app(upstream=app_upstream), units, inspections, items, woken)


def login(world: World, name: str) -> TestClient:
    return logged_in(world.app, name)


def shown(page: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-item="(\d+)"', page)}


def plan_form(items: set[int], token: str, owner: str = "钱正平") -> dict[str, str]:
    due = (clock_now() + timedelta(days=90)).date().isoformat()
    form = {"csrf": token}
    for n in items:
        form |= {f"measure-{n}": f"逐项整改第{n}项", f"owner-{n}": owner, f"deadline-{n}": due, f"every-{n}": "15"}
    return form


def plan_submitted(world: World, unit: str) -> bool:
    with session_scope() as s:
        insp = s.get(Inspection, world.inspections[unit])
        assert insp is not None
        return insp.plan_submitted_at is not None


def refusals(name: str) -> int:
    with session_scope() as s:
        return len(s.exec(select(AuditEvent).where(AuditEvent.actor == name,
                                                   col(AuditEvent.action).contains("被拒绝"))).all())


def test_a_unit_contact_sees_only_their_own_unit(world: World) -> None:
    client = login(world, "钱正平")
    r = client.get(PAGE)
    assert r.status_code == 200 and "<html lang=\"zh-CN\">" in r.text and 'name="viewport"' in r.text
    assert "整改事项：城东街道" in r.text and shown(r.text) == world.items["城东街道"]
    assert 'name="unit"' not in r.text  # no choice of unit
    assert "报送整改方案" in r.text and "报送整改进展" in r.text
    assert client.get(f"{PAGE}?unit={world.units['城东街道']}").status_code == 200
    before = refusals("钱正平")
    for other in ("区教育局", "区交通投资集团"):
        r = client.get(f"{PAGE}?unit={world.units[other]}")
        assert r.status_code == 403 and "本人所在被巡察单位" in r.text
        assert not shown(r.text) & world.items[other]
    assert refusals("钱正平") == before + 2


def test_another_units_contact_is_refused_and_changes_nothing(world: World) -> None:
    client = login(world, "沈红梅")
    r = client.get(PAGE)
    assert r.status_code == 200 and shown(r.text) == world.items["区教育局"]
    token = csrf(r.text)
    r = client.post(f"{PAGE}/{world.inspections['城东街道']}/plan", data=plan_form(world.items["城东街道"], token))
    assert r.status_code == 403 and "本人所在被巡察单位" in r.text
    assert not plan_submitted(world, "城东街道") and world.woken == []
    first = min(world.items["城东街道"])
    r = client.post(f"{PAGE}/{world.inspections['城东街道']}/progress",
                    data={"csrf": token, f"status-{first}": "整改中", f"taken-{first}": "已部署"})
    assert r.status_code == 403
    with session_scope() as s:
        assert s.exec(select(ProgressReport)).all() == []


def test_the_office_sees_every_unit_chosen_from_a_list(world: World) -> None:
    client = login(world, "陶文华")
    r = client.get(PAGE)
    assert r.status_code == 200 and 'name="unit"' in r.text and not shown(r.text)
    for name in world.units:
        assert f'<option value="{world.units[name]}"' in r.text and name in r.text
    for name, unit_id in world.units.items():
        r = client.get(f"{PAGE}?unit={unit_id}")
        assert r.status_code == 200 and shown(r.text) == world.items[name]
        assert "报送整改方案" in r.text  # the office may report for any unit
    assert client.get(f"{PAGE}?unit=99999").status_code == 404


@pytest.mark.parametrize("name", ["刘洋", "李建国", "郑文斌"])
def test_team_roles_and_receivers_are_refused(world: World, name: str) -> None:
    client = login(world, name)
    r = client.get(PAGE)
    assert r.status_code == 403 and "无权" in r.text
    assert "/office/rectification" not in client.get("/office/").text  # no link to it either


def test_the_leading_group_reads_but_does_not_report(world: World) -> None:
    client = login(world, "张明")
    r = client.get(f"{PAGE}?unit={world.units['区教育局']}")
    assert r.status_code == 200 and shown(r.text) == world.items["区教育局"]
    assert f"{PAGE}/{world.inspections['区教育局']}/plan" not in r.text
    token = csrf(r.text)
    r = client.post(f"{PAGE}/{world.inspections['区教育局']}/plan", data=plan_form(world.items["区教育局"], token))
    assert r.status_code == 403 and not plan_submitted(world, "区教育局")


def test_forms_need_the_sessions_csrf_token_and_this_site(world: World) -> None:
    client = login(world, "钱正平")
    token = csrf(client.get(PAGE).text)
    url = f"{PAGE}/{world.inspections['城东街道']}/plan"
    form = plan_form(world.items["城东街道"], token)
    r = client.post(url, data={k: v for k, v in form.items() if k != "csrf"})
    assert r.status_code == 403 and "校验码" in r.text
    r = client.post(url, data=form | {"csrf": "0" * 64})
    assert r.status_code == 403
    r = client.post(url, data=form, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    anonymous = TestClient(world.app, base_url=ORIGIN, follow_redirects=False)
    assert anonymous.post(url, data=form).status_code == 401
    assert not plan_submitted(world, "城东街道") and world.woken == []


def test_the_unit_submits_its_plan_from_the_page(world: World) -> None:
    client = login(world, "钱正平")
    token = csrf(client.get(PAGE).text)
    url = f"{PAGE}/{world.inspections['城东街道']}/plan"
    # A bad line refuses the whole plan, with the reason in Chinese and what was typed kept.
    form = plan_form(world.items["城东街道"], token)
    first = min(world.items["城东街道"])
    r = client.post(url, data=form | {f"owner-{first}": ""})
    assert r.status_code == 400 and f"编号{first}：责任人填写有误" in r.text and f"逐项整改第{first}项" in r.text
    r = client.post(url, data=form | {f"deadline-{first}": "明年"})
    assert r.status_code == 400 and "完成时限填写有误" in r.text
    missing = {k: v for k, v in form.items() if not k.endswith(f"-{first}")}
    r = client.post(url, data=missing)
    assert r.status_code == 400 and "整改方案未覆盖的整改事项" in r.text
    assert not plan_submitted(world, "城东街道") and world.woken == []
    r = client.post(url, data=form)
    assert r.status_code == 303 and r.headers["location"].startswith(f"{PAGE}?unit={world.units['城东街道']}")
    assert plan_submitted(world, "城东街道")
    assert world.woken == [(world.inspections["城东街道"], "run-of-chengdong")]
    with session_scope() as s:
        rows = s.exec(select(RectificationItem).where(col(RectificationItem.id).in_(world.items["城东街道"]))).all()
        assert {(r.measure, r.owner, r.supervise_every_days) for r in rows} == {
            (f"逐项整改第{r.id}项", "钱正平", 15) for r in rows}
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "报送整改方案")).one()
        assert event.actor == "钱正平" and event.entity_id == world.inspections["城东街道"]
    page = client.get(r.headers["location"]).text
    assert "已报送整改方案" in page and "已报送，待巡察办审核" in page
    # The confirmation is the gateway's own, signed for this session: a crafted address shows none.
    forged = client.get(PAGE, params={"unit": str(world.units["城东街道"]), "done": "已销号全部整改事项"})
    assert forged.status_code == 200 and "已销号全部整改事项" not in forged.text


def test_the_unit_reports_progress_from_the_page(world: World) -> None:
    client = login(world, "钱正平")
    token = csrf(client.get(PAGE).text)
    url = f"{PAGE}/{world.inspections['城东街道']}/progress"
    first, *rest = sorted(world.items["城东街道"])
    r = client.post(url, data={"csrf": token})
    assert r.status_code == 400 and "请至少为一个事项选择整改状态" in r.text
    r = client.post(url, data={"csrf": token, f"status-{first}": "已销号"})  # only the office closes
    assert r.status_code == 400 and f"编号{first}：整改状态填写有误" in r.text
    r = client.post(url, data={"csrf": token, f"status-{first}": "已完成待核", f"taken-{first}": "已修订制度",
                               f"evidence-{first}": "会议纪要", f"rules-{first}": "2",
                               **{f"status-{n}": "" for n in rest}, "formal": "1"})
    assert r.status_code == 303, r.text
    with session_scope() as s:
        item = s.get(RectificationItem, first)
        assert item is not None and item.status == ItemStatus.PENDING_CHECK and item.rules_made == 2
        assert [p.item_id for p in s.exec(select(ProgressReport))] == [first]
        insp = s.get(Inspection, world.inspections["城东街道"])
        assert insp is not None and insp.formal_report_at is not None
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "报送整改进展")).one().actor == "钱正平"
    assert "已报送整改进展（1项），作为正式整改情况报告" in client.get(r.headers["location"]).text


def test_a_contacts_todo_lists_their_units_items_and_the_plan_it_owes(world: World) -> None:
    client = login(world, "钱正平")
    r = client.get("/office/")
    assert r.status_code == 200
    plans = r.text[r.text.index('id="todo-plans"'):]
    assert "2026年第一轮巡察·城东街道" in plans.split("</table>")[0]
    items = r.text[r.text.index('id="todo-unit-items"'):].split("</table>")[0]
    assert {int(n) for n in re.findall(r"<tr><td>(\d+)</td>", items)} == world.items["城东街道"]
    assert "区教育局" not in r.text
    # Once the plan is in, it no longer waits; the items still do.
    token = csrf(r.text)
    assert client.post(f"{PAGE}/{world.inspections['城东街道']}/plan",
                       data=plan_form(world.items["城东街道"], token)).status_code == 303
    r = client.get("/office/")
    assert 'id="todo-plans"' not in r.text and 'id="todo-unit-items"' in r.text
    # The office's to-do has no unit's list of its own.
    assert 'id="todo-unit-items"' not in login(world, "陶文华").get("/office/").text


def test_a_plan_is_kept_when_the_wake_up_fails(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect unreachable (nothing listens at the gateway's upstream here): the plan is saved and
    the page says so; the relay's next pass wakes the run (plans_to_review lists it)."""
    from tasks.supervision.rectification import plans_to_review

    monkeypatch.setattr(rectification, "wake_plan", REAL_WAKE)
    client = login(world, "钱正平")
    token = csrf(client.get(PAGE).text)
    r = client.post(f"{PAGE}/{world.inspections['城东街道']}/plan", data=plan_form(world.items["城东街道"], token))
    assert r.status_code == 303 and plan_submitted(world, "城东街道")
    page = client.get(r.headers["location"]).text
    assert "已报送整改方案（2项），待巡察办审核" in page and "已转入整改方案审核" not in page
    with session_scope() as s:
        assert plans_to_review(session=s) == [(world.inspections["城东街道"], "run-of-chengdong")]
