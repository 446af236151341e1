"""The plan's sections and what covers them: the compliance map an auditor reads.

Every section of recovery-plan.md from 2.1 to 7 is listed, either with the reason it states
nothing checkable, or as checkable (then at least one check carries that plan_section, or one
of its subsections does). `tests/test_plan_coverage.py` keeps this list and the checks in sync.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    number: str
    title: str
    not_checkable: str = ""  # why no check can prove it, if so


PLAN: tuple[Section, ...] = (
    Section("2", "Backup strategy", "its parts are 2.1-2.5 below"),
    Section("2.1", "Relational database: automated backups, 7-day retention, window, PITR"),
    Section("2.1.1", "Snapshot verification before restore"),
    Section("2.2", "File storage: versioning, replication, cold-storage copy"),
    Section("2.3", "Search index derived from the database, rebuilt after restore"),
    Section("2.4", "Terraform state backed up"),
    Section("2.5", "Password management: RDS_DB_PASSWORD in the task definitions"),
    Section("3", "Stateless components: containers, cache, broker"),
    Section("4", "Recovery procedure in a parallel environment"),
    Section(
        "4.1", "Step 1: provision the recovery environment", "proven by the drill's provision phase (ERROR if it fails)"
    ),
    Section("4.2", "Step 2: restore the database", "proven by the drill's restore phase (ERROR if it fails)"),
    Section("4.2.4", "Step 2.4: force a new deployment"),
    Section("4.3", "Step 3: connect file storage", "proven by the drill's storage phase (ERROR if it fails)"),
    Section(
        "4.4",
        "Step 4: rebuild the search index",
        "proven by the drill's reindex phase, which waits until the index agrees with the restored DB (ERROR if it "
        "fails), then by search_index_matches_database (§2.3) on the recovered copy",
    ),
    Section("4.5", "Step 5: verify application integrity", "its parts are 5.1-5.4 below"),
    Section("5", "RPO and RTO objectives"),
    Section("5.1", "Basic connectivity"),
    Section("5.2", "Database integrity"),
    Section("5.3", "Application features: search, record, file"),
    Section("5.4", "User account recovery"),
    Section("6", "Troubleshooting", "its parts are 6.1-6.5 below"),
    Section("6.1", "Password authentication failed"),
    Section("6.2", "Empty database after restore"),
    Section("6.3", "CLI commands fail inside containers"),
    Section("6.4", "Site returns 502 after restore"),
    Section("6.5", "Deployment stuck or failed"),
    Section("7", "Lessons learned", "each lesson is a check of 2.1.1, 4.2.4, 6.3 or 2.1 (see the fault matrix)"),
)

BY_NUMBER = {s.number: s for s in PLAN}
