"""Gate receipts: the gateway records who (logged in) answered a gate before it forwards the
resume, and the flow takes that person as the approver instead of a typed name.

A receipt binds approval, flow run, pause key (one asking), person and time under an HMAC with
a key derived from the identity key, which is not in the database: a row written straight into
the database by someone without the key is refused by the flow."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.clock import aware
from models.crypto import mac_profile, tagged_mac
from models.settings import Settings
from models.tables import GateReceipt
from tasks.identity.keys import purpose_keys

PURPOSE = "gate-receipt"


def _mac(key: bytes, approval_id: int, flow_run_id: str, pause_key: str, person: str, at: datetime,
         profile: str = "intl") -> str:
    """HMAC-SHA256 (64 hex digits) or, under `gm`, HMAC-SM3 (tagged) of the receipt's fields."""
    message = f"{approval_id}|{flow_run_id}|{pause_key}|{person}|{int(aware(at).timestamp())}"
    return tagged_mac(profile, key, message.encode())


def receipt_valid(settings: Settings, row: GateReceipt) -> bool:
    """Whether the row's MAC holds under any live identity key, in the profile it was made under."""
    profile = mac_profile(row.mac)
    return any(hmac.compare_digest(row.mac, _mac(key, row.approval_id, row.flow_run_id, row.pause_key, row.person,
                                                 row.at, profile))
               for key in purpose_keys(settings, PURPOSE, profile))


def remac(settings: Settings, row: GateReceipt) -> str:
    """The row's MAC under the current profile and newest key (the row must be valid first)."""
    key = purpose_keys(settings, PURPOSE, settings.crypto_profile)[0]
    return _mac(key, row.approval_id, row.flow_run_id, row.pause_key, row.person, row.at, settings.crypto_profile)


def write_receipt(*, session: Session, settings: Settings, approval_id: int, flow_run_id: str, pause_key: str,
                  person: str, now: datetime) -> GateReceipt:
    at = now.replace(microsecond=0)
    row = GateReceipt(approval_id=approval_id, flow_run_id=flow_run_id, pause_key=pause_key, person=person, at=at,
                      mac="")
    row.mac = remac(settings, row)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class ReceiptCheck:
    person: str  # empty when no receipt was written for this asking (answered by one-time code)
    problem: str  # why a receipt that is there is not accepted


def check_receipt(*, session: Session, settings: Settings, approval_id: int, flow_run_id: str,
                  pause_key: str) -> ReceiptCheck:
    """The newest receipt for this asking, verified under any live identity key."""
    row = session.exec(select(GateReceipt).where(GateReceipt.flow_run_id == flow_run_id,
                                                 GateReceipt.pause_key == pause_key)
                       .order_by(col(GateReceipt.id).desc())).first()
    if row is None:
        return ReceiptCheck("", "")
    if row.approval_id != approval_id:
        return ReceiptCheck("", "审批凭据与本次审批不符")
    if receipt_valid(settings, row):
        return ReceiptCheck(row.person, "")
    return ReceiptCheck("", "审批凭据校验失败（记录可能被改动）")


def withdraw_receipt(*, session: Session, receipt_id: int) -> None:
    """The resume it was written for was not accepted by the server: it answers nothing."""
    row = session.get(GateReceipt, receipt_id)
    if row is not None:
        session.delete(row)
