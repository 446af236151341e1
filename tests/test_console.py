"""The terminal: progress events as plain lines in a CI log, and the one verdict block."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

from recovery import console
from recovery.progress import PHASE_END, PHASE_START, WAITING, Event, emit


def test_ci_lines_say_what_started_ended_and_what_is_awaited() -> None:
    at = datetime(2026, 1, 1, 3, 4, 5, tzinfo=UTC)
    assert console.plain_line(Event(PHASE_START, "restore"), at) == "03:04:05Z drill phase restore: started"
    assert (
        console.plain_line(Event(WAITING, "db instance available", 754, "creating", 3600), at)
        == "03:04:05Z   waiting for db instance available: creating (12 min 34 s of 1 h)"
    )
    assert (
        console.plain_line(Event(PHASE_END, "restore", 1501, "passed"), at)
        == "03:04:05Z drill phase restore: passed after 25 min 1 s"
    )


def test_cli_progress_goes_to_the_stream_and_not_to_the_log_lines(caplog) -> None:  # type: ignore[no-untyped-def]
    stream = io.StringIO()
    done = console.attach(stream)
    try:
        with caplog.at_level(logging.INFO):
            emit(Event(PHASE_START, "restore"))
            emit(Event(PHASE_END, "restore", 2.0, "passed"))
    finally:
        done()
    lines = stream.getvalue().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "drill phase restore: started",
        "drill phase restore: passed after 2.0 s",
    ]
    assert not [r for r in caplog.records if r.name == "recovery.progress"], "shown once, not also as log lines"


def test_the_verdict_block_leads_with_the_word_and_names_the_evidence_once() -> None:
    results = {
        "mode": "drill",
        "target": "twin",
        "outcome": "failed",
        "summary": {"passed": 8, "failed": 9, "error": 0, "skipped": 0},
        "root_cause": "§6.2 drill_restored_db_has_users_and_records: Empty database after restore",
        "drill": {
            "rto_seconds": 8.1,
            "rto_objective_seconds": 3600,
            "rpo_seconds": 5183820,
            "rpo_objective_seconds": 300,
            "pitr_lag_seconds": 95,
            "data_loss_seconds": 5183820,
        },
    }
    lines = console.verdict_plain(results, "reports/drill-x/evidence.html")
    assert lines == [
        "== FAIL: drill on twin ==",
        "RTO 8.1 s (objective 1 h): met",
        "RPO 60 d (objective 5 min): BREACHED; point-in-time lag 1 min 35 s, measured data loss 60 d",
        "Root cause: §6.2 drill_restored_db_has_users_and_records: Empty database after restore",
        "8 passed, 9 failed, 0 error, 0 skipped",
        "Evidence: reports/drill-x/evidence.html",
    ]
