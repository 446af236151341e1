"""The teardown ledger: written before creation, persisted, reverse-order teardown, idempotent."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from recovery.drill import teardown
from recovery.drill.ledger import DELETED, FAILED, GONE, Entry, Ledger, latest_ledger
from recovery.drill.scan import Found, Scan
from recovery.drill.teardown import order_of
from recovery.errors import RecoveryError


def test_records_persist_before_creation_and_reload(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, "dledger")
    entry = ledger.record("ecs-cluster", "invenio-drill-dledger-cluster", "eu-central-1", "provision")
    on_disk = json.loads((tmp_path / ".drills" / "dledger.json").read_text())
    assert on_disk["entries"][0]["status"] == "pending"  # a crash now still leaves a line to act on
    ledger.created(entry, arn="arn:x")
    ledger.state["environment"] = {"cluster": "invenio-drill-dledger-cluster"}
    ledger.complete("provision")
    again = Ledger.load(ledger.path)
    assert again.entries[0].status == "created"
    assert again.entries[0].extra == {"arn": "arn:x"}
    assert again.completed == ["provision"]
    assert again.state["environment"]["cluster"] == "invenio-drill-dledger-cluster"


def test_teardown_runs_in_reverse_records_outcomes_and_is_idempotent(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, "dledger")
    for kind in ("drill-lock", "ecs-cluster", "rds-instance"):
        ledger.created(ledger.record(kind, kind + "-1", "eu-central-1", "s"))
    order: list[str] = []

    def delete(entry: Entry) -> str:
        order.append(entry.kind)
        return GONE if entry.kind == "drill-lock" else DELETED

    assert ledger.teardown(delete, order_of) == []
    assert order == ["ecs-cluster", "rds-instance", "drill-lock"]  # dependencies, the lock last
    assert [e.outcome for e in Ledger.load(ledger.path).entries] == [GONE, DELETED, DELETED]
    assert Ledger.load(ledger.path).torn_down
    ledger.teardown(delete, order_of)
    assert len(order) == 3  # nothing deleted twice


def test_a_failed_deletion_is_recorded_the_rest_go_on_and_a_rerun_retries(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, "dledger")
    for kind in ("ecs-cluster", "rds-instance"):
        ledger.created(ledger.record(kind, kind, "eu-central-1", "s"))
    attempts: list[str] = []

    def flaky(entry: Entry) -> str:
        attempts.append(entry.kind)
        if entry.kind == "rds-instance" and attempts.count("rds-instance") == 1:
            raise RuntimeError("InvalidDBInstanceState")
        return DELETED

    remaining = ledger.teardown(flaky, order_of)
    assert [e.kind for e in remaining] == ["rds-instance"]
    assert remaining[0].status == FAILED
    assert "InvalidDBInstanceState" in remaining[0].outcome
    assert "ecs-cluster" in attempts
    assert ledger.teardown(flaky, order_of) == []


def test_latest_open_ledger_is_what_resume_continues(tmp_path: Path) -> None:
    with pytest.raises(RecoveryError, match="no drill to resume"):
        latest_ledger(tmp_path)
    done = Ledger.create(tmp_path, "ddone00")
    done.teardown(lambda e: DELETED, order_of)
    Ledger.create(tmp_path, "dopen00")
    assert latest_ledger(tmp_path).drill_id == "dopen00"


class _Listings:
    """What successive leak-check listings show (the last one repeats); counts the listings."""

    def __init__(self, *views: list[Found]) -> None:
        self.views = list(views)
        self.calls = 0

    def __call__(self, *_: object, **__: object) -> Scan:
        self.calls += 1
        return Scan(found=list(self.views[min(self.calls, len(self.views)) - 1]))


def _leak_check(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, listings: _Listings, failed: str) -> list[str]:
    monkeypatch.setattr(teardown, "scan", listings)
    monkeypatch.setattr(teardown, "search_gone_reason", lambda *_: "")
    monkeypatch.setattr(teardown, "search_api", lambda *_: None)
    fast = teardown.wait_until  # the listings' pace is not the subject
    monkeypatch.setattr(teardown, "wait_until", lambda pred, **kw: fast(pred, **{**kw, "interval": 0.01}))
    ledger = Ledger.create(tmp_path, "dleak")
    for kind, ident in (("s3-bucket", "b"), ("elbv2-load-balancer", "alb")):
        entry = ledger.record(kind, ident, "eu-central-1", "s")
        entry.status = FAILED if ident == failed else DELETED
    ctx = SimpleNamespace(
        aws=SimpleNamespace(aws=None), settings=None, client=None, ledger=ledger,
        names=SimpleNamespace(prefix="invenio"), drill_id="dleak", options=SimpleNamespace(keep=False),
    )  # fmt: skip
    found, _unchecked = teardown.leftovers(ctx, settle_seconds=600)  # type: ignore[arg-type]
    return [f["id"] for f in found]


def test_leak_check_re_lists_a_deleted_resource_until_the_listing_catches_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bucket = Found("s3-bucket", "b", "dleak")
    listings = _Listings([bucket], [bucket], [])  # ListBuckets still shows the deleted bucket twice
    assert _leak_check(monkeypatch, tmp_path, listings, failed="") == []
    assert listings.calls == 3


def test_leak_check_does_not_wait_for_what_teardown_failed_to_delete(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    listings = _Listings([Found("elbv2-load-balancer", "alb", "dleak")])
    assert _leak_check(monkeypatch, tmp_path, listings, failed="alb") == ["alb"]
    assert listings.calls == 1, "no wait makes a failed deletion disappear"
