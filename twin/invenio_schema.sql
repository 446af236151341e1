-- InvenioRDM-shaped schema (v12/v13 table and column names; only what the plan's checks read).
-- Shared contract of the twin: the seeder (twin/invenio_db.py) fills it, the InvenioRDM
-- stand-in (twin/webapp.py) serves it. The suite itself never reads this file: it speaks SQL.
CREATE TABLE accounts_user (
    id            serial PRIMARY KEY,
    email         varchar(255) UNIQUE NOT NULL,
    username      varchar(255) UNIQUE,
    password      varchar(255),
    active        boolean NOT NULL DEFAULT true,
    confirmed_at  timestamp,
    created       timestamp NOT NULL,
    updated       timestamp NOT NULL
);
CREATE TABLE accounts_role (
    id          varchar(80) PRIMARY KEY,
    name        varchar(80) UNIQUE NOT NULL,
    description varchar(255)
);
CREATE TABLE accounts_userrole (
    user_id integer REFERENCES accounts_user(id) ON DELETE CASCADE,
    role_id varchar(80) REFERENCES accounts_role(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE TABLE access_actionsroles (
    id       serial PRIMARY KEY,
    action   varchar(80) NOT NULL,
    exclude  boolean NOT NULL DEFAULT false,
    argument varchar(255),
    role_id  varchar(80) REFERENCES accounts_role(id) ON DELETE CASCADE
);
CREATE TABLE communities_metadata (
    id       uuid PRIMARY KEY,
    slug     varchar(255) UNIQUE NOT NULL,
    json     jsonb,
    created  timestamp NOT NULL,
    updated  timestamp NOT NULL
);
CREATE TABLE rdm_versions_state (
    parent_id  uuid PRIMARY KEY,
    latest_index integer,
    latest_id  uuid,
    next_draft_id uuid
);
-- json IS NULL means soft-deleted; deletion_status P published, D deleted, X marked for purge.
CREATE TABLE rdm_records_metadata (
    id               uuid PRIMARY KEY,
    recid            varchar(11) UNIQUE NOT NULL,
    parent_id        uuid NOT NULL,
    index            integer NOT NULL DEFAULT 1,
    json             jsonb,
    deletion_status  char(1) NOT NULL DEFAULT 'P',
    version_id       integer NOT NULL DEFAULT 1,
    created          timestamp NOT NULL,
    updated          timestamp NOT NULL
);
CREATE TABLE rdm_drafts_metadata (
    id          uuid PRIMARY KEY,
    parent_id   uuid NOT NULL,
    json        jsonb,
    version_id  integer NOT NULL DEFAULT 1,
    created     timestamp NOT NULL,
    updated     timestamp NOT NULL
);
CREATE TABLE files_files (
    id        uuid PRIMARY KEY,
    uri       text NOT NULL,           -- s3://<bucket>/<key>
    size      bigint NOT NULL,
    checksum  varchar(255) NOT NULL,   -- md5:<hex>
    readable  boolean NOT NULL DEFAULT true,
    created   timestamp NOT NULL,
    updated   timestamp NOT NULL
);
CREATE TABLE rdm_records_files (
    id         uuid PRIMARY KEY,
    record_id  uuid NOT NULL REFERENCES rdm_records_metadata(id) ON DELETE CASCADE,
    key        text NOT NULL,          -- file name shown to users, e.g. book.pdf
    file_id    uuid NOT NULL REFERENCES files_files(id),
    json       jsonb,
    created    timestamp NOT NULL,
    updated    timestamp NOT NULL
);
-- One row per Alembic branch head, so several rows.
CREATE TABLE alembic_version (
    version_num varchar(32) PRIMARY KEY
);
CREATE INDEX rdm_records_metadata_updated ON rdm_records_metadata(updated);
CREATE INDEX rdm_records_files_record ON rdm_records_files(record_id);
-- Community members (invenio-communities) and requests (invenio-requests): indexed by
-- `invenio rdm rebuild-all-indices`, not by `rdm-records rebuild-index`.
CREATE TABLE communities_members (
    id            uuid PRIMARY KEY,
    community_id  uuid NOT NULL REFERENCES communities_metadata(id) ON DELETE CASCADE,
    user_id       integer REFERENCES accounts_user(id) ON DELETE CASCADE,
    group_id      varchar(80),
    role          varchar(50) NOT NULL,
    visible       boolean NOT NULL DEFAULT true,
    active        boolean NOT NULL DEFAULT true,
    request_id    uuid,
    json          jsonb,
    version_id    integer NOT NULL DEFAULT 1,
    created       timestamp NOT NULL,
    updated       timestamp NOT NULL
);
CREATE TABLE request_metadata (
    id          uuid PRIMARY KEY,
    number      varchar(50),
    expires_at  timestamp,
    json        jsonb,
    version_id  integer NOT NULL DEFAULT 1,
    created     timestamp NOT NULL,
    updated     timestamp NOT NULL
);
