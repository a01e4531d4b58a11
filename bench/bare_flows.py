"""The baseline of bench_round.py: bare Prefect flows with the same shape as a round — a round
run that waits at one gate and starts one independent run per unit, each unit run doing the
same number of (empty) task runs and waiting at the same number of gates — and no work of ours."""

from __future__ import annotations

from prefect import flow, task
from prefect.deployments import run_deployment
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput


class Go(RunInput):
    ok: bool = True


@task(persist_result=True)
def step(unit: int, n: int) -> int:
    return unit * 1000 + n


@flow(name="基准单位", persist_result=True)
def bare_unit(unit: int, tasks: int, gates: int) -> int:
    per_gate = max(1, tasks // (gates + 1))
    done = 0
    for g in range(gates + 1):
        for _ in range(per_gate if g < gates else tasks - done):
            step(unit, done)
            done += 1
        if g < gates:
            suspend_flow_run(wait_for_input=Go, key=f"g-{unit}-{g}")
    return done


@flow(name="基准轮次", persist_result=True)
def bare_round(units: int, tasks: int, gates: int, tag: str) -> list[str]:
    suspend_flow_run(wait_for_input=Go, key="plan")
    return [str(run_deployment("基准单位/基准单位", parameters={"unit": u, "tasks": tasks, "gates": gates},
                               as_subflow=False, timeout=0, idempotency_key=f"{tag}-{u}").id)  # type: ignore[union-attr]  # Prefect: FlowRun | coroutine; sync here (bare flows import nothing of ours)
            for u in range(units)]
