"""Which crashed runs are started again, and when a person is asked to look instead."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from models.settings import Settings
from models.tables import Alert, AuditEvent, RunRecovery
from tasks.ops.recovery import CrashedRun, plan_recoveries
from tests.conftest import NOW

A = CrashedRun(id="run-a", name="单位巡察-7", deployment="单位巡察")
B = CrashedRun(id="run-b", name="督办-2027-03-01", deployment="每日督办")


def test_each_run_is_recovered_a_bounded_number_of_times(demo_org: Session, settings: Settings) -> None:
    s = demo_org
    rounds = []
    for i in range(settings.max_recoveries + 2):
        crashed = [A] if i < settings.max_recoveries + 1 else [A, B]
        rounds.append(plan_recoveries(session=s, settings=settings, crashed=crashed, now=NOW + i * timedelta(minutes=1)))
        s.commit()
    assert rounds[:3] == [[(A, 1)], [(A, 2)], [(A, 3)]]
    assert rounds[3] == [] and rounds[4] == [(B, 1)]  # A gave up; B is new
    rec = s.exec(select(RunRecovery).where(RunRecovery.flow_run_id == "run-a")).one()
    assert (rec.attempts, rec.gave_up) == (3, True)
    (alert,) = s.exec(select(Alert).where(Alert.dedupe_key == "recovery:run-a:gave-up")).all()
    assert alert.role == "office" and "单位巡察-7" in alert.body and "自动恢复已停止" in alert.body
    actions = [e.action for e in s.exec(select(AuditEvent))]
    assert actions.count("恢复中断运行") == 4 and actions.count("停止自动恢复") == 1
