"""Waiting for people. A gate suspends the flow run (the process exits) until its form is
answered in the Prefect UI or by API; the application records who answered and what.

Prefect's resume form does not say who answered. Through the login gateway it does not need
to: the gateway checks the logged-in person's role and writes a receipt (HMAC-keyed) for this
asking before it forwards the resume, and the approver is the receipt's person, whatever name
was typed. An answer without a receipt (the one-time-code path, see docs/login.md) must name an
approver of the gate's roles and give the live code the alert sent them. Either way an answer
from outside the gate's roles, a forged receipt or a wrong or expired code is refused and
audited while the run keeps waiting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from prefect.context import FlowRunContext
from prefect.flow_runs import suspend_flow_run
from pydantic import BaseModel, ValidationError, create_model
from pydantic.fields import FieldInfo

from models.enums import Gate
from models.forms import CommonGroupIn, GateForm, WaitNotice
from models.handoffs import GateAsked
from tasks.lifecycle.answers import AnswerCheck, AnswerFields, CheckOn, GateRef, answer_problem
from tasks.lifecycle.prefect import gate_key_prefix, open_gate_task, settle_answer_task

F = TypeVar("F", bound=GateForm)


def check_answer(answer: GateForm) -> str:
    """Our own rules, which the server's JSON-schema check cannot express; empty when fine."""
    return answer_problem(answer.decision, answer.approver, answer.comment)


@dataclass(frozen=True)
class InTask:
    """A gate's own check, made by the one-step task (settle_answer_task) inside the answer's
    transaction: `check` names it, `on` is what it reads beside the approval row and the answer."""

    check: AnswerCheck
    on: CheckOn = CheckOn()


def _plain(value: Any) -> Any:
    """A form value as JSON-able data (rows of a list are models)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def prefilled(form: type[F], description: str, initial: dict[str, Any] | None) -> type[F]:
    """The form with its description and prefilled values. Prefect's `with_initial_data` keeps only
    a prefilled field's type, so the form would show it as "Groups" instead of its Chinese title;
    here the field keeps its title, description and position, with the value as its default."""
    if not initial:
        return form.with_initial_data(description=description)
    fields: dict[str, Any] = {
        name: (form.model_fields[name].annotation, FieldInfo.merge_field_infos(form.model_fields[name], default=value))
        for name, value in initial.items()}
    model = create_model(form.__name__, __base__=form, **fields)
    model._description = description  # what with_initial_data sets: shown above the form
    return model


def _fields(answer: GateForm) -> AnswerFields:
    """What the one-step task reads of an answer: the common fields, and those a gate's own check
    reads (absent from a form without them)."""
    groups = getattr(answer, "groups", [])  # rows of a class built for the org data's choices: as plain rows
    return AnswerFields(
        decision=answer.decision, approver=answer.approver, code=answer.code, comment=answer.comment,
        approved=answer.approved, gap_reason=str(getattr(answer, "gap_reason", "")),
        adjusted=bool(getattr(answer, "adjusted", False)), edits=str(getattr(answer, "edits", "")),
        checks=tuple(getattr(answer, "checks", [])),
        groups=tuple(CommonGroupIn.model_validate(g.model_dump()) for g in groups))


def _answered_before(key: str) -> bool:
    """This asking fired before this process started (the run was resumed past it): Prefect hands
    back its stored answer, so the gate need not be opened, nor its form's text read, again."""
    ctx = FlowRunContext.get()
    keys = ctx.flow_run.empirical_policy.pause_keys if ctx is not None and ctx.flow_run is not None else None
    return key in (keys or set())


def await_gate(
    form: type[F], *, gate: Gate, round_id: int | None, inspection_id: int | None, attempt: int, description: str = "",
    validate: InTask | None = None, initial: dict[str, Any] | None = None, term_id: int | None = None,
) -> F:
    """Ask once per (gate, attempt); an invalid answer is refused, audited and asked again.
    Without `description` the form says what gate_summary reads for the gate. Every answer is
    settled in one task (settle_answer_task), the gate's own check (`validate`) included. A run
    resumed with its answer goes straight to settling it (the gate was opened before it waited)."""
    ref = GateRef(gate=gate, attempt=attempt, round_id=round_id, inspection_id=inspection_id, term_id=term_id)
    prefix = f"{gate_key_prefix(gate)}{inspection_id or term_id or 0}-{attempt}-"  # keys [a-z0-9-] only
    approval: GateAsked | None = None
    error, try_no = "", 0
    while True:
        key = f"{prefix}{try_no}"
        if approval is None and not _answered_before(key):  # asked now: open the gate, read its text
            approval = open_gate_task(round_id, inspection_id, gate, attempt, term_id, not description)
            if approval.decided and validate is None:
                # Decided in an earlier run of this flow (e.g. a crashed run that was started again). A
                # gate with a check of its own asks again: its answer's other fields are not stored.
                return form(decision=approval.decision, approver=approval.approver, comment=approval.comment, code="")
        text = description or (approval.text if approval is not None else "")
        # A refusal is said first, where the person filling the form looks.
        text = text if not error else f"> **上次提交未被接受：{error}。请改正后重新提交。**\n\n{text}"
        try:
            answer = suspend_flow_run(wait_for_input=prefilled(form, text, initial), key=key)
        except ValidationError:
            # Started again without an answer while it waited (a run wrongly taken for crashed and
            # scheduled again): nothing was decided, so ask again under a new key.
            error, try_no = "", try_no + 1
            continue
        assert answer is not None
        settled = settle_answer_task(ref, key, try_no, _fields(answer),
                                     validate.check if validate else AnswerCheck.NONE,
                                     validate.on if validate else CheckOn())
        answer.approver, error = settled.approver or answer.approver, settled.error  # the receipt's person
        if not error:
            return answer
        if initial:  # asked again with what was entered, not the first proposal (20 groups typed once)
            initial = {name: _plain(getattr(answer, name)) for name in initial}
        try_no += 1


def await_condition(ready: Callable[[], bool], *, key: str, description: str) -> None:
    """Wait, holding no process, until `ready()` (read from the database) is true. Whoever makes
    it true resumes the run (tasks/ops/launch.py `wake`; the relay does it for a wake-up that was
    lost). The form asks nothing and says what to do. Keys `<key>-0`, `<key>-1`, … : after a
    resume with `ready()` still false (the UI's Resume button) the run waits under the next key;
    a key already used returns at once when the run starts again from the top."""
    n = 0
    while not ready():
        suspend_flow_run(wait_for_input=WaitNotice.with_initial_data(description=description), key=f"{key}-{n}")
        n += 1
