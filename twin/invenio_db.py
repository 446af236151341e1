"""Deterministic InvenioRDM data for the twin's databases, and the SQL the web app shares with it.

`generate()` builds the rows (users, communities, records with versions, deletions and drafts,
one PDF and one HOCR file per record row); `load()` creates `invenio_schema.sql` and fills it
with COPY. The S3 side is seeded from `Dataset.files` with `file_content()`, which regenerates
each object's bytes from its `SeedFile` alone, so database checksums and bucket objects agree
without keeping tens of megabytes in memory. Good looks like: the same arguments give the same
rows and bytes on every machine, and the summary counts equal what SQL on the loaded database
returns (`PUBLISHED_LATEST_SQL` is the one definition of "published").
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

log = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).with_name("invenio_schema.sql")

# What the search index and the records API show: the latest version of each record, not
# deleted. The web app imports this; count with f"SELECT count(*) FROM ({PUBLISHED_LATEST_SQL}) p".
PUBLISHED_LATEST_SQL = """\
SELECT r.id, r.recid, r.json, r.created, r.updated
FROM rdm_records_metadata AS r
JOIN rdm_versions_state AS v ON v.parent_id = r.parent_id AND v.latest_id = r.id
WHERE r.json IS NOT NULL AND r.deletion_status = 'P'"""

ADMIN_EMAIL = "admin@turath-project.com"
ADMIN_ROLE = "admin"
SUPERUSER_ACTION = "superuser-access"
# Three Alembic branch heads, as an InvenioRDM v12 database has several (one row per head).
ALEMBIC_HEADS = ("8ae99b034410", "842a62ab4843", "a3f5a8635cbb")
HISTORY = timedelta(days=60)
# The newest change is this long before `now`: a freshly taken backup is a few minutes old.
NEWEST_CHANGE_AGE = timedelta(minutes=3)

_PDF_SIZE = (2_000, 30_000)
_HOCR_SIZE = (1_000, 8_000)
_RECID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, as InvenioRDM recids


@dataclass(frozen=True)
class SeedFile:
    """One S3 object of the dataset: `key` in the bucket, its size and MD5 (hex)."""

    key: str
    filename: str
    size: int
    md5: str


@dataclass(frozen=True)
class User:
    id: int
    email: str
    username: str
    active: bool
    confirmed_at: datetime | None
    created: datetime
    updated: datetime
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Community:
    id: uuid.UUID
    slug: str
    title: str
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class RecordFile:
    """A file of one record version: `rdm_records_files` row `id` pointing at `files_files` `file_id`."""

    id: uuid.UUID
    file_id: uuid.UUID
    file: SeedFile
    created: datetime


@dataclass(frozen=True)
class Record:
    """One row of rdm_records_metadata; `json` is None for a deleted record."""

    id: uuid.UUID
    recid: str
    parent_id: uuid.UUID
    index: int
    json: dict[str, Any] | None
    deletion_status: str
    created: datetime
    updated: datetime
    files: tuple[RecordFile, ...]
    version_id: int = 1


@dataclass(frozen=True)
class VersionsState:
    parent_id: uuid.UUID
    latest_index: int | None
    latest_id: uuid.UUID | None
    next_draft_id: uuid.UUID | None


@dataclass(frozen=True)
class Draft:
    """One row of rdm_drafts_metadata; `json` is None for a soft-deleted (published) draft."""

    id: uuid.UUID
    parent_id: uuid.UUID
    json: dict[str, Any] | None
    created: datetime
    updated: datetime
    version_id: int = 1


@dataclass(frozen=True)
class Dataset:
    """Everything `load()` writes, plus the counts checks compare a restored database against."""

    users: list[User]
    communities: list[Community]
    records: list[Record]
    versions: list[VersionsState]
    drafts: list[Draft]
    files: list[SeedFile]
    newest_change: datetime

    @property
    def user_count(self) -> int:
        return len(self.users)

    @property
    def published_count(self) -> int:
        """Rows `PUBLISHED_LATEST_SQL` returns: latest versions that are published and not deleted."""
        latest = {v.latest_id for v in self.versions if v.latest_id is not None}
        return sum(1 for r in self.records if r.id in latest and r.json is not None and r.deletion_status == "P")

    @property
    def record_rows_not_deleted(self) -> int:
        """Rows of rdm_records_metadata with json IS NOT NULL (every version, not only the latest)."""
        return sum(1 for r in self.records if r.json is not None)


# ------------------------------------------------------------------------------------------- content


def file_content(f: SeedFile) -> bytes:
    """The exact bytes of `f` (its size and MD5 match), regenerated from its key and name."""
    return _render(f.key, f.filename, f.size)


@functools.lru_cache(maxsize=65536)
def _md5(key: str, filename: str, size: int) -> str:
    # Rendering and hashing ~45 MB is most of generate()'s time; a twin regenerates the same
    # dataset on every reset, so remember the digests (a few hundred KB) for the process.
    return hashlib.md5(_render(key, filename, size), usedforsecurity=False).hexdigest()


def _render(key: str, filename: str, size: int) -> bytes:
    # Seeding Random with a str hashes it with SHA-512: stable across runs and PYTHONHASHSEED.
    rng = random.Random(key)
    if filename.endswith(".pdf"):
        return _fake_pdf(rng, size)
    return _fake_hocr(rng, size)


def _fake_pdf(rng: random.Random, size: int) -> bytes:
    head = (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>\nendobj\n"
        b"4 0 obj\n<< /Filter /FlateDecode >>\nstream\n"
    )
    tail = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    # Random bytes stand in for a compressed page scan (and keep MD5s distinct).
    return head + rng.randbytes(size - len(head) - len(tail)) + tail


_HOCR_WORDS = (
    "كتاب",
    "تاريخ",
    "الفقه",
    "النحو",
    "قال",
    "في",
    "من",
    "على",
    "الله",
    "العلم",
    "مسألة",
    "باب",
    "فصل",
    "الشيخ",
    "رحمه",
    "المدينة",
)

_HOCR_LINES = tuple(
    " ".join(_HOCR_WORDS[(start + step * k) % len(_HOCR_WORDS)] for k in range(8))
    for start in range(len(_HOCR_WORDS))
    for step in (1, 3, 5, 7)
)


def _fake_hocr(rng: random.Random, size: int) -> bytes:
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" lang="ar">\n'
        b'<head><title></title><meta name="ocr-system" content="tesseract 5.3.0"/></head>\n'
        b'<body><div class="ocr_page" id="page_1" title="bbox 0 0 2480 3508; ppageno 0">\n'
    )
    tail = b"</div></body></html>\n"
    budget = size - len(head) - len(tail)
    # Lines come from a fixed pool with random boxes: few random draws, so 2000 files are cheap.
    random_float = rng.random
    spans = bytearray()
    for n in range(budget // 100 + 1):
        x, y = int(random_float() * 2000), int(random_float() * 3400)
        line = _HOCR_LINES[int(random_float() * len(_HOCR_LINES))]
        span = (
            f"<span class='ocr_line' id='line_1_{n}' title='bbox {x} {y} {x + 400} {y + 40}'>{line}</span>\n".encode()
        )
        if len(spans) + len(span) > budget:
            break
        spans += span
    # Pad with whitespace (valid between elements) so the object has exactly the chosen size.
    return head + bytes(spans) + b" " * (budget - len(spans)) + tail


# ------------------------------------------------------------------------------------------- generate

_TITLE_HEADS = (
    ("كتاب", "The Book of"),
    ("رسالة في", "A Treatise on"),
    ("مختصر", "An Abridgement of"),
    ("شرح", "A Commentary on"),
    ("ديوان", "Collected Poems of"),
    ("تاريخ", "The History of"),
)
_TITLE_TOPICS = (
    ("الفقه", "Jurisprudence"),
    ("النحو", "Grammar"),
    ("الطب", "Medicine"),
    ("الفلك", "Astronomy"),
    ("الأدب", "Literature"),
    ("الحساب", "Arithmetic"),
    ("البلاغة", "Rhetoric"),
    ("المنطق", "Logic"),
    ("دمشق", "Damascus"),
    ("القاهرة", "Cairo"),
    ("بغداد", "Baghdad"),
    ("الأندلس", "Al-Andalus"),
)
_GIVEN = ("Muhammad", "Ahmad", "Ali", "Hasan", "Ibrahim", "Yusuf", "Umar", "Khalil", "Mahmud", "Fatima", "Aisha")
_FAMILY = ("al-Tabari", "al-Maqrizi", "al-Suyuti", "Ibn Khaldun", "al-Jahiz", "al-Khatib", "Rida", "Zaydan")
_PUBLISHERS = ("Matba'at Bulaq", "Dar al-Kutub al-Misriyya", "al-Matba'a al-Adabiyya", "Dar Sadir")
_COMMUNITIES = (
    ("turath-printed-books", "Printed Arabic Books"),
    ("turath-manuscripts", "Manuscripts"),
    ("turath-periodicals", "Periodicals"),
)


def generate(records: int = 2000, users: int = 40, seed: int = 7, now: datetime | None = None) -> Dataset:
    """A deterministic InvenioRDM dataset of `records` records (parents) and `users` accounts.

    ~10 % of records have two versions, ~1 % are deleted, a few drafts exist (some soft-deleted).
    Timestamps spread over the 60 days before `now`; the newest change is 3 minutes before it.
    """
    if records < 1 or users < 1:
        raise ValueError("generate() needs at least one record and one user")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return _Generator(random.Random(seed), now).run(records, users)


class _Generator:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.newest = now - NEWEST_CHANGE_AGE
        self.oldest = now - HISTORY
        self.recids: set[str] = set()

    def moment(self, low: datetime | None = None) -> datetime:
        """A random instant in [low or oldest, newest - 1 s]: the newest instant is kept for one row."""
        low = low or self.oldest
        span = (self.newest - timedelta(seconds=1) - low).total_seconds()
        return low + timedelta(seconds=self.rng.uniform(0, max(span, 0)))

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def recid(self) -> str:
        while True:
            chars = "".join(self.rng.choices(_RECID_ALPHABET, k=10))
            recid = f"{chars[:5]}-{chars[5:]}"
            if recid not in self.recids:
                self.recids.add(recid)
                return recid

    def run(self, n_records: int, n_users: int) -> Dataset:
        users = self.users(n_users)
        communities = [
            Community(self.uuid4(), slug, title, created, created)
            for (slug, title), created in ((c, self.moment()) for c in _COMMUNITIES)
        ]
        records: list[Record] = []
        versions: list[VersionsState] = []
        parents = list(range(n_records))
        versioned = set(self.rng.sample(parents, k=n_records // 10))
        single = [p for p in parents if p not in versioned]
        deleted = set(self.rng.sample(single, k=min(len(single), max(1, n_records // 100))))
        # Records arrive over time; the very last one is the newest change of the whole database.
        starts = sorted(self.moment() for _ in parents)
        for p, created in zip(parents, starts, strict=True):
            parent_id = self.uuid4()
            community = communities[p % len(communities)]
            count = 2 if p in versioned else 1
            rows: list[Record] = []
            for index in range(1, count + 1):
                created = self.moment(created) if index > 1 else created
                rows.append(self.record(parent_id, index, count, created, community, p in deleted))
            records.extend(rows)
            versions.append(VersionsState(parent_id, count, rows[-1].id, None))
        last = records[-1]
        records[-1] = _with_updated(last, self.newest)
        drafts = self.drafts(records, versions, max(3, n_records // 100))
        files = [rf.file for r in records for rf in r.files]
        return Dataset(users, communities, records, versions, drafts, files, self.newest)

    def users(self, n: int) -> list[User]:
        admin_created = self.oldest
        result = [User(1, ADMIN_EMAIL, "admin", True, admin_created, admin_created, admin_created, (ADMIN_ROLE,))]
        for uid in range(2, n + 1):
            given, family = self.rng.choice(_GIVEN), self.rng.choice(_FAMILY)
            created = self.moment()
            confirmed = self.rng.random() < 0.9
            handle = f"{given}.{family}".lower().replace(" ", "-").replace("'", "")
            result.append(
                User(
                    id=uid,
                    email=f"{handle}{uid}@example.org",
                    username=f"{handle.replace('.', '_')}{uid}",
                    active=self.rng.random() < 0.95,
                    confirmed_at=created + timedelta(minutes=self.rng.randint(1, 120)) if confirmed else None,
                    created=created,
                    updated=created,
                    roles=("curator",) if uid % 15 == 0 else (),
                )
            )
        return result

    def record(
        self, parent_id: uuid.UUID, index: int, count: int, created: datetime, community: Community, deleted: bool
    ) -> Record:
        record_id = self.uuid4()
        recid = self.recid()
        updated = min(created + timedelta(hours=self.rng.uniform(0, 48)), self.newest - timedelta(seconds=1))
        files = tuple(self.record_file(recid, ext, created) for ext in ("pdf", "hocr"))
        if deleted:
            return Record(record_id, recid, parent_id, index, None, "D", created, updated, files)
        head_ar, head_en = self.rng.choice(_TITLE_HEADS)
        topic_ar, topic_en = self.rng.choice(_TITLE_TOPICS)
        given, family = self.rng.choice(_GIVEN), self.rng.choice(_FAMILY)
        metadata = {
            "title": f"{head_ar} {topic_ar}",
            "additional_titles": [
                {"title": f"{head_en} {topic_en}", "type": {"id": "translated-title"}, "lang": {"id": "eng"}}
            ],
            "creators": [
                {
                    "person_or_org": {
                        "type": "personal",
                        "name": f"{family}, {given}",
                        "given_name": given,
                        "family_name": family,
                    },
                    "role": {"id": "author"},
                }
            ],
            "publication_date": str(self.rng.randint(1850, 1960)),
            "publisher": self.rng.choice(_PUBLISHERS),
            "resource_type": {"id": "publication-book", "title": {"en": "Book"}},
            "languages": [{"id": "ara", "title": {"en": "Arabic"}}],
        }
        document = {
            "$schema": "local://records/record-v7.0.0.json",
            "id": recid,
            "pid": {"pk": 0, "status": "R", "pid_type": "recid", "obj_type": "rec"},
            "access": {"record": "public", "files": "public", "embargo": {"active": False, "reason": None}},
            "files": {"enabled": True, "default_preview": files[0].file.filename},
            "metadata": metadata,
            "versions": {"index": index, "is_latest": index == count},
            "parent": {"id": str(parent_id), "communities": {"ids": [str(community.id)], "default": str(community.id)}},
            "created": created.isoformat(),
            "updated": updated.isoformat(),
        }
        return Record(record_id, recid, parent_id, index, document, "P", created, updated, files)

    def record_file(self, recid: str, ext: str, created: datetime) -> RecordFile:
        file_id = self.uuid4()
        h = str(file_id)
        # InvenioRDM's local/S3 layout: <root>/<2>/<2>/<rest of the uuid>/data
        key = f"files/{h[:2]}/{h[2:4]}/{h[4:]}/data"
        filename = f"turath-{recid}.{ext}"
        size = self.rng.randint(*(_PDF_SIZE if ext == "pdf" else _HOCR_SIZE))
        md5 = _md5(key, filename, size)
        return RecordFile(self.uuid4(), file_id, SeedFile(key, filename, size, md5), created)

    def drafts(self, records: list[Record], versions: list[VersionsState], n: int) -> list[Draft]:
        result: list[Draft] = []
        # Published records keep their draft row soft-deleted (json NULL), as InvenioRDM does.
        for record in self.rng.sample([r for r in records if r.json is not None], k=min(n, len(records))):
            result.append(Draft(record.id, record.parent_id, None, record.created, record.updated, 2))
        # New uploads not yet published: a parent with a next draft and no published version.
        for _ in range(n):
            draft_id, parent_id = self.uuid4(), self.uuid4()
            created = self.moment()
            title_ar, title_en = self.rng.choice(_TITLE_TOPICS)
            document = {
                "id": self.recid(),
                "metadata": {
                    "title": title_ar,
                    "additional_titles": [{"title": title_en, "type": {"id": "translated-title"}}],
                    "resource_type": {"id": "publication-book"},
                },
                "parent": {"id": str(parent_id)},
            }
            result.append(Draft(draft_id, parent_id, document, created, created))
            versions.append(VersionsState(parent_id, None, None, draft_id))
        return result


def _with_updated(record: Record, updated: datetime) -> Record:
    document = dict(record.json, updated=updated.isoformat()) if record.json is not None else None
    return Record(
        record.id,
        record.recid,
        record.parent_id,
        record.index,
        document,
        record.deletion_status,
        record.created,
        updated,
        record.files,
        record.version_id,
    )


# ------------------------------------------------------------------------------------------- load


def load(conn: psycopg.Connection[Any], dataset: Dataset, bucket: str) -> None:
    """Create the schema in an empty database and fill it with COPY, in one transaction."""
    started = time.monotonic()
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(SCHEMA_PATH.read_text())
        _copy(
            cur,
            "accounts_user",
            ("id", "email", "username", "password", "active", "confirmed_at", "created", "updated"),
            (
                (
                    u.id,
                    u.email,
                    u.username,
                    _password_hash(u),
                    u.active,
                    _naive(u.confirmed_at),
                    _naive(u.created),
                    _naive(u.updated),
                )
                for u in dataset.users
            ),
        )
        roles = sorted({role for u in dataset.users for role in u.roles})
        _copy(cur, "accounts_role", ("id", "name", "description"), ((r, r, f"{r} role") for r in roles))
        _copy(
            cur, "accounts_userrole", ("user_id", "role_id"), ((u.id, role) for u in dataset.users for role in u.roles)
        )
        _copy(
            cur,
            "access_actionsroles",
            ("id", "action", "exclude", "argument", "role_id"),
            [(1, SUPERUSER_ACTION, False, None, ADMIN_ROLE)],
        )
        _copy(
            cur,
            "communities_metadata",
            ("id", "slug", "json", "created", "updated"),
            (
                (
                    c.id,
                    c.slug,
                    json.dumps({"slug": c.slug, "metadata": {"title": c.title}}),
                    _naive(c.created),
                    _naive(c.updated),
                )
                for c in dataset.communities
            ),
        )
        _copy(
            cur,
            "rdm_versions_state",
            ("parent_id", "latest_index", "latest_id", "next_draft_id"),
            ((v.parent_id, v.latest_index, v.latest_id, v.next_draft_id) for v in dataset.versions),
        )
        _copy(
            cur,
            "rdm_records_metadata",
            ("id", "recid", "parent_id", "index", "json", "deletion_status", "version_id", "created", "updated"),
            (
                (
                    r.id,
                    r.recid,
                    r.parent_id,
                    r.index,
                    _json(r.json),
                    r.deletion_status,
                    r.version_id,
                    _naive(r.created),
                    _naive(r.updated),
                )
                for r in dataset.records
            ),
        )
        _copy(
            cur,
            "rdm_drafts_metadata",
            ("id", "parent_id", "json", "version_id", "created", "updated"),
            (
                (d.id, d.parent_id, _json(d.json), d.version_id, _naive(d.created), _naive(d.updated))
                for d in dataset.drafts
            ),
        )
        _copy(
            cur,
            "files_files",
            ("id", "uri", "size", "checksum", "readable", "created", "updated"),
            (
                (
                    f.file_id,
                    f"s3://{bucket}/{f.file.key}",
                    f.file.size,
                    f"md5:{f.file.md5}",
                    True,
                    _naive(f.created),
                    _naive(f.created),
                )
                for r in dataset.records
                for f in r.files
            ),
        )
        _copy(
            cur,
            "rdm_records_files",
            ("id", "record_id", "key", "file_id", "json", "created", "updated"),
            (
                (f.id, r.id, f.file.filename, f.file_id, "{}", _naive(f.created), _naive(f.created))
                for r in dataset.records
                for f in r.files
            ),
        )
        _copy(cur, "alembic_version", ("version_num",), ((head,) for head in ALEMBIC_HEADS))
        # Explicit ids were copied in: move the serial sequences past them for later inserts.
        cur.execute("SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), max(id)) FROM accounts_user")
        cur.execute("SELECT setval(pg_get_serial_sequence('access_actionsroles', 'id'), 1)")
    log.debug(
        "loaded %d users, %d record rows, %d files in %.3fs",
        dataset.user_count,
        len(dataset.records),
        len(dataset.files),
        time.monotonic() - started,
    )


def _copy(cur: psycopg.Cursor[Any], table: str, columns: tuple[str, ...], rows: Any) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _naive(moment: datetime | None) -> datetime | None:
    # InvenioRDM columns are `timestamp` holding UTC wall time.
    return moment.astimezone(UTC).replace(tzinfo=None) if moment is not None else None


def _json(document: dict[str, Any] | None) -> str | None:
    return json.dumps(document, ensure_ascii=False) if document is not None else None


def _password_hash(user: User) -> str:
    # Shaped like passlib's pbkdf2_sha512 hash; no one can log in with it, which is fine here.
    digest = hashlib.sha256(f"turath:{user.email}".encode()).hexdigest()
    return f"$pbkdf2-sha512$25000${digest[:22]}${digest[22:]}"
