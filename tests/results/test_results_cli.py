"""巡察成果运用 at the terminal: `stats` adds the results table after its own (its first lines as
before), and `results-letters` lists the letters in the person's reach, refused to a team role."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from deployments.cli.main import app
from models.clock import now
from models.db import get_engine
from models.enums import Stage
from models.results_use import ResultsLetter
from models.settings import get_settings
from tasks.results import use
from tests.support.advance import advance
from tests.support.cli import login
from tests.support.factories import make_round, sample_findings


def test_stats_and_the_letters_list(cli_home: Path) -> None:
    run = CliRunner().invoke
    assert run(app, ["load-org"]).exit_code == 0
    with Session(get_engine()) as s:
        _, insps = make_round(s)
        advance(s, get_settings(), insps[0].id or 0, Stage.CLUE_TRANSFER, findings=sample_findings(),
                clues=[("违纪违法线索", "某干部收受购物卡")])
        s.commit()
        org = next(lt for lt in s.exec(select(ResultsLetter)) if lt.receiver == "organisation_department")
        t = now()
        use.acknowledge(session=s, settings=get_settings(), by="吴志刚", letter_id=org.id or 0, now=t)
        use.record_use(session=s, by="吴志刚", letter_id=org.id or 0, kind="诫勉谈话", note="", on=t.date(), done=True, now=t)
    login("陶文华")
    out = run(app, ["stats", "--by", "单位"])
    assert out.exit_code == 0, out.output
    lines = [line.split("\t") for line in out.output.splitlines()]
    assert lines[0][:3] == ["单位", "发现问题", "反馈问题"]  # the statistics as before, then the results table
    at = lines.index(["巡察成果运用（成果运用函的签收与运用）："])
    assert lines[at + 1] == ["单位", "成果运用函", "已签收", "运用次数", "已运用", "已办结", "运用方式"]
    assert lines[at + 2] == ["城东街道", "2", "1", "1", "1", "0", "诫勉谈话1"]
    out = run(app, ["results-letters"])
    assert out.exit_code == 0 and "组织部" in out.output and "纪委监委" in out.output and "某干部" not in out.output
    login("吴志刚")
    out = run(app, ["results-letters"])
    assert out.exit_code == 0 and "组织部" in out.output and "纪委监委" not in out.output, out.output
    assert "诫勉谈话（" in out.output
    login("李建国")
    out = run(app, ["results-letters"])
    assert out.exit_code == 2 and "无权查看巡察成果运用函" in out.output, out.output
