"""Populate a migrated InvenioRDM database with InvenioRDM's own services and models, then report.

Runs inside InvenioRDM's environment (scripts/invenio_env.sh), never in the suite's: the suite
only speaks SQL to the result. `scripts/invenio_build.py` runs `invenio alembic upgrade`, the
`invenio users/roles/access` CLI, then this script:

    python invenio_populate.py FILES_DIR FACTS_JSON

What it writes, through the same services the web app and the CLI use: published records with
files, a restricted record, a record with a second version, a deleted record (tombstone), an
unpublished draft; then a file whose checksum is NULL and one whose checksum is a multipart
upload's `multipart:<etag>-<parts>-<partsize>` (set through the FileInstance model, as the S3
storage does after a multipart completion: there is no S3 here), and last InvenioRDM's own
checksum verification task over every file (the periodic job that rewrites files_files.updated).

What it reports (FACTS_JSON) is what InvenioRDM's API says about the same data: users, admins by
`Permission(superuser_access)`, records that anonymous and system identities can read, each
record's recid, file references, the moment the last user change ended and the counts as they
were at a moment before a new version was published.

Mocked, because it cannot run here: OpenSearch. The search client is a MagicMock, so indexing
calls succeed and do nothing; the one read that goes through search (the serializers'
vocabulary lookup, used for the tombstone's citation) reads the same item from the database.
Celery runs eagerly.
"""

from __future__ import annotations

import importlib
import io
import json
import sys
import time
from datetime import UTC, datetime
from unittest.mock import MagicMock

from flask_principal import AnonymousIdentity
from invenio_access.permissions import Permission, any_user, authenticated_user, superuser_access, system_identity
from invenio_access.utils import get_identity
from invenio_accounts.models import User
from invenio_app.factory import create_app
from invenio_db import db
from invenio_files_rest.models import FileInstance, Location, ObjectVersion
from invenio_files_rest.tasks import verify_checksum
from invenio_rdm_records.proxies import current_rdm_records_service as service
from invenio_rdm_records.records.api import RDMRecord
from invenio_records_resources.services.errors import PermissionDeniedError
from invenio_vocabularies.proxies import current_service as vocabulary_service
from invenio_vocabularies.records.api import Vocabulary


def vocabulary_props_from_db(vocabulary: str, fields: list[str], id_: str) -> dict:
    """The serializers' vocabulary lookup, read from the database instead of the search index."""
    return dict(Vocabulary.pid.with_type_ctx(vocabulary).resolve(id_).get("props", {}))


def utcnow() -> str:
    # InvenioRDM stores naive UTC wall time; report the same shape.
    return datetime.now(UTC).replace(tzinfo=None).isoformat()


def vocabularies() -> None:
    for vtype, prefix, entries in (
        (
            "resourcetypes",
            "rsrct",
            [{"id": "publication-book", "title": {"en": "Book"}, "props": {}, "tags": ["depositable", "linkable"]}],
        ),
        ("removalreasons", "rmrs", [{"id": "spam", "title": {"en": "Spam"}}]),
    ):
        vocabulary_service.create_type(system_identity, vtype, prefix)
        for entry in entries:
            vocabulary_service.create(system_identity, {**entry, "type": vtype})


def metadata(title: str, restricted: bool = False) -> dict:
    access = "restricted" if restricted else "public"
    return {
        "access": {"record": access, "files": access},
        "files": {"enabled": True},
        "metadata": {
            "title": title,
            "resource_type": {"id": "publication-book"},
            "publication_date": "1901",
            "creators": [{"person_or_org": {"type": "personal", "family_name": "al-Jahiz", "given_name": "Amr"}}],
        },
    }


def add_files(draft_id: str, files: dict[str, bytes]) -> None:
    service.draft_files.init_files(system_identity, draft_id, [{"key": k} for k in files])
    for key, content in files.items():
        service.draft_files.set_file_content(system_identity, draft_id, key, io.BytesIO(content))
        service.draft_files.commit_file(system_identity, draft_id, key)


def publish(title: str, files: dict[str, bytes], restricted: bool = False) -> str:
    draft = service.create(system_identity, metadata(title, restricted))
    add_files(draft.id, files)
    return str(service.publish(system_identity, draft.id).id)


def new_version(recid: str, title: str) -> str:
    draft = service.new_version(system_identity, recid)
    service.import_files(system_identity, draft.id)
    data = draft.to_dict()
    data["metadata"]["title"] = title
    data["metadata"]["publication_date"] = "1902"
    service.update_draft(system_identity, draft.id, data)
    return str(service.publish(system_identity, draft.id).id)


def report(app_started: float) -> dict:
    """What InvenioRDM's own API says about the data."""
    users = User.query.order_by(User.id).all()
    admins = []
    for user in users:
        identity = get_identity(user)
        identity.provides.update({any_user, authenticated_user})  # what a logged-in session provides
        if user.active and Permission(superuser_access).allows(identity):
            admins.append(user.email)
    anonymous = AnonymousIdentity()
    anonymous.provides.add(any_user)
    records = []
    for model in RDMRecord.model_cls.query.all():
        record = RDMRecord.get_record(model.id, with_deleted=True)
        recid = record.pid.pid_value
        try:
            service.read(anonymous, recid)
            public = True
        except PermissionDeniedError:
            public = False
        except Exception:  # a tombstone answers 410 to everyone
            public = False
        files = []
        for key in record.files.entries:
            file = record.files[key].object_version.file
            files.append({"key": key, "uri": file.uri, "size": file.size, "checksum": file.checksum})
        records.append(
            {
                "id": str(model.id),
                "recid": recid,
                "title": (record.get("metadata") or {}).get("title"),
                "is_latest": bool(record.versions.is_latest),
                "published": record.deletion_status.status == "P",
                "deleted": record.deletion_status.is_deleted,
                "public": public,
                "files_public": record.access.protection.files == "public",
                "files": files,
            }
        )
    return {
        "users": len(users),
        "active_users": sum(1 for u in users if u.active),
        "admins": sorted(admins),
        "records": records,
        "locations": [{"name": loc.name, "uri": loc.uri, "default": loc.default} for loc in Location.query.all()],
        "seconds": round(time.monotonic() - app_started, 1),
    }


def latest_published() -> int:
    return sum(
        1
        for m in RDMRecord.model_cls.query.all()
        if (r := RDMRecord.get_record(m.id, with_deleted=True)).versions.is_latest and r.deletion_status.status == "P"
    )


def main(files_dir: str, facts_path: str) -> int:
    started = time.monotonic()
    app = create_app()
    app.config.update(CELERY_TASK_ALWAYS_EAGER=True, CELERY_TASK_EAGER_PROPAGATES=True)
    with app.app_context():
        # Mock: no OpenSearch here (see the module docstring).
        app.extensions["invenio-search"]._client = MagicMock()
        for module in ("csl", "datacite", "dublincore", "marcxml", "schemaorg", "signposting"):
            serializer = importlib.import_module(f"invenio_rdm_records.resources.serializers.{module}.schema")
            serializer.get_vocabulary_props = vocabulary_props_from_db
        db.session.add(Location(name="default", uri=files_dir, default=True))
        db.session.commit()
        vocabularies()
        book = b"%PDF-1.4 Kitab al-Hayawan\n" * 40
        ocr = b"<html><body>kitab</body></html>\n" * 20
        publish("Kitab al-Bayan", {"bayan.pdf": book + b"1", "bayan.hocr": ocr + b"1"})
        publish("Kitab al-Bukhala", {"bukhala.pdf": book + b"2"})
        publish("Restricted manuscript", {"secret.pdf": book + b"3"}, restricted=True)
        versioned = publish("Kitab al-Hayawan", {"hayawan.pdf": book + b"4"})
        deleted = publish("Withdrawn upload", {"withdrawn.pdf": book + b"5"})
        service.delete_record(
            system_identity, deleted, {"removal_reason": {"id": "spam"}, "is_visible": True, "note": "spam"}
        )
        multipart = publish("Large scan", {"large.pdf": book + b"6"})
        nochecksum = publish("Migrated scan", {"migrated.pdf": book + b"7"})
        db.session.commit()
        time.sleep(0.05)
        as_of = {"time": utcnow(), "users": User.query.count(), "records": latest_published()}
        time.sleep(0.05)
        new_version(versioned, "Kitab al-Hayawan (second edition)")
        service.create(system_identity, metadata("An unpublished draft"))
        # What the S3 storage writes after a multipart upload, and what a migration can leave.
        for recid, key, checksum in (
            (multipart, "large.pdf", "multipart:3f1b9a7d0c5e2b4a6d8f0e1c2b3a4d5e-3-5242880"),
            (nochecksum, "migrated.pdf", None),
        ):
            record = RDMRecord.pid.resolve(recid)
            record.files[key].object_version.file.checksum = checksum
        db.session.commit()
        last_user_change = utcnow()
        time.sleep(0.05)
        # Background bookkeeping: InvenioRDM's checksum verification over every readable file.
        bookkeeping = utcnow()
        for file in FileInstance.query.filter_by(readable=True).all():
            verify_checksum.apply(args=[str(file.id)], kwargs={"throws": False})
        db.session.commit()
        facts = report(started)
        facts.update(
            as_of=as_of,
            last_user_change=last_user_change,
            bookkeeping_started=bookkeeping,
            object_versions=ObjectVersion.query.count(),
        )
    with open(facts_path, "w", encoding="utf-8") as out:
        json.dump(facts, out, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
