"""The public reporting page's data (deployments/public): what its in-process and browser tests
start from."""

from __future__ import annotations

from models.clock import now as clock_now
from models.db import session_scope
from models.settings import get_settings
from tasks.planning.org import load_org, read_org_file
from tests.conftest import DEMO_ORG
from tests.support.factories import in_stationing


def unit_in_stationing_now() -> int:
    """The demo county loaded into the application's database (the `cli_home` fixture's) and the
    default round's first unit (城东街道) in 集中巡察 as of now: the one unit the public page
    lists. Returns its inspection id."""
    with session_scope() as s:
        load_org(session=s, data=read_org_file(DEMO_ORG))
    with session_scope() as s:
        return in_stationing(s, get_settings(), now=clock_now())
