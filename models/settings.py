"""One validated settings class; every value can come from XUNCHA_* environment variables."""

from __future__ import annotations

import hashlib
import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.enums import DayCount

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Deadline rules: name -> (days field, count field, what it is). Every deadline the system computes
# goes through one of these (tasks/infra/workdays.py), so each says whether it counts 工作日 or 自然日.
DEADLINE_RULES: dict[str, tuple[str, str, str]] = {
    "clue_ack": ("clue_ack_days", "clue_ack_count", "线索移交函签收"),
    "clue_result": ("clue_result_days", "clue_result_count", "线索办理结果反馈"),
    "plan": ("plan_due_days", "plan_count", "报送整改方案"),
    "report": ("rectification_days", "report_count", "报送整改报告"),
    "rectification": ("rectification_days", "rectification_count", "整改期限"),
    "look_back": ("look_back_days", "look_back_count", "回头看重新整改期限"),
    # 巡察成果运用 (tasks/results/use.py): the letter is signed for like a clue transfer letter.
    "results_ack": ("clue_ack_days", "clue_ack_count", "巡察成果运用函签收"),
    "results_use": ("results_use_days", "results_use_count", "巡察成果运用情况反馈"),
}


class DeadlineRule(BaseModel):
    name: str
    title: str
    days: int
    count: DayCount
    alerts_on_rest_days: bool  # reminders and escalations of this rule go out on holidays too


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XUNCHA_", env_file=".env", extra="ignore")

    home: Path = Field(default=PROJECT_ROOT / "var", description="运行数据目录")
    database_url: str = Field(default="", description="应用数据库地址；为空时用 home 下的 SQLite 文件")
    ui_url: str = Field(default="http://127.0.0.1:4200", description="工作人员打开的地址（登录网关），用于提醒中的链接")
    # The gateway (deployments/gateway) is the address staff open; the Prefect server behind it
    # listens on loopback only and is reached directly by the gateway, workers and relay.
    gateway_host: str = Field(default="127.0.0.1", description="登录网关监听的地址（局域网使用时改为本机地址或 0.0.0.0）")
    # The public reporting page (deployments/public): no login, no Prefect, its own port.
    public_host: str = Field(default="127.0.0.1", description="公开举报页面监听的地址（对外提供时改为本机地址或 0.0.0.0）")
    public_port: int = Field(default=4300, gt=0, lt=65536, description="公开举报页面的端口")
    public_reports_per_ip: int = Field(default=5, ge=1, description="同一来源地址每小时最多提交几件网络举报")
    public_reports_total: int = Field(default=200, ge=1, description="公开举报页面每小时最多受理几件网络举报（全部来源合计）")
    public_wrong_codes_per_ip: int = Field(default=10, ge=1, description="同一来源地址每小时最多输错几次查询码")
    session_idle_minutes: float = Field(default=30, gt=0, description="无操作多少分钟后会话失效，须重新登录")
    session_max_hours: float = Field(default=12, gt=0, description="一次登录最长有效多少小时")
    cli_session_dir: Path | None = Field(default=None, description="命令行登录凭据的存放目录（每个操作系统用户一份）；为空时为 ~/.config/xuncha")
    login_max_failures: int = Field(default=10, ge=1, description="连续登录失败几次后锁定账户")
    login_lockout_minutes: float = Field(default=30, ge=0, description="账户锁定多少分钟；0 表示直到巡察办重置密码")
    # Before the lock: growing waits per source address and per name (tasks/identity/throttle.py),
    # so one source cannot lock an account in seconds and nobody guesses fast.
    login_free_failures: int = Field(default=3, ge=1, description="同一来源或同一姓名一小时内可输错几次而不必等待")
    login_delay_seconds: float = Field(default=30, gt=0, description="超过上述次数后，下一次尝试须等待的秒数（每再错一次加倍）")
    login_delay_max_seconds: float = Field(default=900, gt=0, description="每次尝试须等待的最长秒数")
    # Reverse proxies (HTTPS termination) whose X-Forwarded-For / X-Forwarded-Proto are believed;
    # from any other peer the headers are ignored and the peer's own address is the source.
    trusted_proxies: list[str] = Field(default_factory=list, description="可信的反向代理地址（IP 或网段）；只采信它们转发的来源地址")
    # Keys of the front door (TOTP secrets at rest, gate receipts), newest first; empty: a key
    # file under home. Kept apart from the informant keys so rotating one leaves the other alone.
    identity_keys: list[SecretStr] = Field(default_factory=list)
    # role -> Apprise URLs; person-level roles (组长, 单位书记, 联系领导) fall back to these.
    recipients: dict[str, list[str]] = Field(default_factory=dict)
    gate_reminder_hours: float = Field(default=48, gt=0, description="审批等待多久后提醒")
    rectification_days: int = Field(default=60, gt=0, description="整改期限（天），默认两个月")
    plan_due_days: int = Field(default=15, gt=0, description="反馈后几天内报送整改方案")
    reminder_days_before: int = Field(default=7, ge=0, description="到期前几天提醒")
    escalation_offsets_days: list[int] = Field(
        default_factory=lambda: [0, 7, 14, 30],
        description="逾期升级：到期当日及逾期后第几天依次告知单位书记、联系领导/分管领导、巡察办、领导小组",
    )
    lookback_overdue_days: int = Field(default=30, ge=0, description="逾期超过几天启动回头看")
    lookback_rate_below: float = Field(default=80.0, ge=0, le=100, description="报告期限届满时整改率低于此值（%）启动回头看")
    look_back_days: int = Field(default=30, gt=0, description="回头看后重新整改的期限（天）")
    # 整改进度预警 (tasks/supervision/forecast.py): the pace over the last few progress reports, observed for
    # at least two weeks before it is trusted.
    pace_reports: int = Field(default=3, ge=1, description="整改进度预警：按最近几次进展报送以来的完成速度估算")
    pace_min_days: int = Field(default=14, ge=1, description="整改进度预警：进展至少观察几天才估算完成日期")
    # Whether each rule counts 工作日 or 自然日. Calendar days where an existing, tested rule is
    # "N days" on the calendar (two months of rectification, 15 days for the plan, 90 for a result).
    clue_ack_count: DayCount = Field(default=DayCount.WORKING, description="线索移交函签收期限按工作日或自然日计算")
    clue_result_count: DayCount = Field(default=DayCount.NATURAL, description="线索办理结果反馈期限按工作日或自然日计算")
    plan_count: DayCount = Field(default=DayCount.NATURAL, description="整改方案报送期限按工作日或自然日计算")
    report_count: DayCount = Field(default=DayCount.NATURAL, description="整改报告报送期限按工作日或自然日计算")
    rectification_count: DayCount = Field(default=DayCount.NATURAL, description="整改期限按工作日或自然日计算")
    look_back_count: DayCount = Field(default=DayCount.NATURAL, description="回头看重新整改期限按工作日或自然日计算")
    rest_day_alerts: list[str] = Field(
        default_factory=list,
        description="节假日、周末照常发送提醒与升级的期限规则（clue_ack、clue_result、plan、report、rectification）；"
                    "其余规则在休息日产生的提醒顺延到下一个工作日发送",
    )
    holidays_file: Path | None = Field(
        default=None, description="巡察办维护的节假日安排文件（chinese-calendar 尚未收录的年份）；为空时为 home/holidays.yaml")
    alert_backoff_seconds: list[int] = Field(default_factory=lambda: [5, 30, 120, 600, 1800])
    alert_send_timeout: int = Field(default=4, gt=0)
    # A row a deliverer claimed and did not record in this time (it died mid-send) is claimed again.
    alert_lease_seconds: int = Field(default=300, gt=0, description="提醒投递租约（秒）")
    # Retrying is bounded: an alert failing this long (from its first failure) or this many times is
    # marked undeliverable and listed for the office (tasks/infra/undelivered.py) instead.
    alert_give_up_hours: float = Field(default=24, gt=0, description="提醒连续发送失败多少小时后不再重试，标为无法送达")
    alert_max_attempts: int = Field(default=50, ge=1, description="提醒最多发送几次，仍失败即标为无法送达")
    work_pool: str = "xuncha-process"
    max_recoveries: int = Field(default=3, ge=0, description="中断（Crashed）的运行最多自动恢复几次")
    # The relay (deployments/ops/relay.py): how often it delivers the outbox, how often it reminds,
    # starts registered look-backs and recovers runs, and how long a Running run may be silent
    # (no heartbeat, no state change) before it is taken for dead. Heartbeats come every 30 s.
    relay_seconds: float = Field(default=2, gt=0, description="投递进程投递提醒的间隔（秒）")
    housekeeping_seconds: float = Field(default=60, gt=0, description="投递进程催办、启动回头看、恢复中断运行的间隔（秒）")
    zombie_seconds: int = Field(default=300, ge=60, description="运行超过几秒没有心跳即判定失联")
    # Clue routing (线索移交): clue kind -> receiving body (a models.enums.Role value).
    clue_routes: dict[str, str] = Field(
        default_factory=lambda: {
            "违纪违法线索": "discipline_commission",
            "选人用人问题": "organisation_department",
            "信访事项": "responsible_department",
            "行业领域问题": "functional_department",
        },
        description="线索类型 → 接收单位",
    )
    clue_ack_days: int = Field(default=3, gt=0, description="线索移交函签收期限（天）")
    clue_result_days: int = Field(default=90, gt=0, description="线索办理结果反馈期限（天）")
    # 巡察成果运用 (tasks/results/use.py): the finding categories about leadership and cadres that the
    # results letter carries to the organisation department (and the discipline commission).
    results_categories: list[str] = Field(
        default_factory=lambda: ["党的领导", "党的建设", "全面从严治党", "选人用人"],
        description="巡察成果运用函列入的问题类别（领导班子和干部方面）")
    results_use_days: int = Field(default=90, gt=0, description="签收巡察成果运用函后反馈运用情况的期限（天）")
    results_use_count: DayCount = Field(default=DayCount.NATURAL, description="巡察成果运用情况反馈期限按工作日或自然日计算")
    recusal_former_years: int = Field(default=3, ge=0, description="离开原工作单位几年内须回避该单位")
    approval_code_hours: float = Field(default=72, gt=0, description="审批验证码有效期（小时）")
    # Fernet keys for informants' identities, newest first; empty: a key file under home.
    secret_keys: list[SecretStr] = Field(default_factory=list)
    # The master secret the other keys are derived from (HKDF, one per purpose: code HMAC, outbox,
    # audit chain, address fingerprints); empty: home/keys/master.key, made on first use.
    master_key: SecretStr | None = Field(default=None, description="主密钥（至少32个字符）；为空时用 home/keys/master.key")
    audit_head_file: Path | None = Field(default=None, description="审计链头文件；为空时放在密钥目录 home/keys/ 中")
    # Which algorithms protect stored secrets (models/crypto.py): intl (AES/HMAC-SHA256) or gm
    # (SM4-GCM/HMAC-SM3/SM3). Data of either profile stays readable; `xuncha crypto-switch` converts it.
    crypto_profile: Literal["intl", "gm"] = Field(
        default="intl", description="密码算法配置：intl（国际通用算法）或 gm（国密算法 SM4/SM3）")
    templates_dir: Path = Field(default=PROJECT_ROOT / "templates", description="公文模板目录（每类公文一个 .docx，docxtpl 标签）")

    @field_validator("crypto_profile", mode="before")
    @classmethod
    def _known_profile(cls, value: object) -> object:
        text = value.strip().lower() if isinstance(value, str) else value
        if text not in ("intl", "gm"):
            raise ValueError("只能是 intl（国际通用算法）或 gm（国密算法）")
        return text

    @field_validator("alert_backoff_seconds")
    @classmethod
    def _non_empty(cls, value: list[int]) -> list[int]:
        if not value or any(v < 0 for v in value):
            raise ValueError("提醒重试间隔须为非负整数列表")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        bad = []
        for v in value:
            try:
                ipaddress.ip_network(v.strip(), strict=False)
            except ValueError:
                bad.append(v)
        if bad:
            raise ValueError(f"可信代理须为 IP 地址或网段（如 10.0.0.5、10.0.0.0/24）：{'、'.join(bad)} 不是")
        return [v.strip() for v in value]

    @field_validator("rest_day_alerts")
    @classmethod
    def _rest_day_rules(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in DEADLINE_RULES]
        if unknown:
            raise ValueError(f"未知的期限规则：{'、'.join(unknown)}（可选：{'、'.join(DEADLINE_RULES)}）")
        return value

    @field_validator("clue_routes")
    @classmethod
    def _routes(cls, value: dict[str, str]) -> dict[str, str]:
        from models.access import RECEIVER_ACCESS
        from models.enums import ClueKind, Role

        kinds = {k.value for k in ClueKind}
        receivers = {r.value for r in RECEIVER_ACCESS}
        problems = [f"未知的线索类型：{k}" for k in value if k not in kinds]
        problems += [f"线索类型“{k}”缺少接收单位" for k in sorted(kinds - set(value))]
        problems += [f"未知的接收单位：{r}（可选：{'、'.join(sorted(receivers))}）" for r in value.values() if r not in receivers]
        if problems:
            raise ValueError("线索移交规则有误：" + "；".join(problems))
        return {k: Role(r).value for k, r in value.items()}

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'xuncha.db'}"

    def rule(self, name: str) -> DeadlineRule:
        days_field, count_field, title = DEADLINE_RULES[name]
        return DeadlineRule(name=name, title=title, days=getattr(self, days_field), count=getattr(self, count_field),
                            alerts_on_rest_days=name in self.rest_day_alerts)

    @property
    def holidays_path(self) -> Path:
        return self.holidays_file or self.home / "holidays.yaml"

    def cli_session_file(self) -> Path:
        """Where `xuncha login` keeps this OS user's token for this database (one file per
        database, so two installs on one machine do not share a login)."""
        base = self.cli_session_dir or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "xuncha"
        return base / f"session-{hashlib.sha256(self.db_url.encode()).hexdigest()[:12]}"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def documents_dir(self) -> Path:
        return self.home / "documents"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    def office_link(self, page: str = "") -> str:
        """A page of the office's own (deployments/gateway/office.py), e.g. "letters", "clues/12"."""
        return self.ui_url.rstrip("/") + "/office/" + page

    def run_link(self, flow_run_id: str | None) -> str:
        if not flow_run_id:
            return self.ui_url.rstrip("/") + "/runs"
        return f"{self.ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}"

    def approve_link(self, flow_run_id: str | None) -> str:
        """The gateway's page for answering a gate from a phone with the one-time code."""
        return f"{self.ui_url.rstrip('/')}/approve/{flow_run_id}" if flow_run_id else ""


@lru_cache
def get_settings() -> Settings:
    return Settings()
