"""Thin Prefect tasks over the clue domain (tasks/clues). Nothing confidential passes: the
letter's ID and code in, the number of clues signed for out."""

from __future__ import annotations

from prefect import task

from models.clock import now
from models.db import session_scope
from models.forms import AckParams
from models.settings import get_settings
from tasks.lifecycle.prefect import STAGE


@task(name="签收线索移交函", **STAGE)
def acknowledge_letter_task(params: AckParams) -> int:
    from tasks.clues.ledger import acknowledge

    with session_scope() as s:
        letter = acknowledge(session=s, settings=get_settings(), by=params.signer, letter_id=params.letter_id,
                             code=params.code, now=now())
        return letter.clue_count
