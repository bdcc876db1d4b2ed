-- Rampart store, schema 1 (SQLite). Times are Unix milliseconds; every object row carries
-- tenant_id and every query filters on it. STRICT tables refuse values of the wrong type.

CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    -- Bumped by every policy, library or bank change of the tenant.
    revision    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE api_keys (
    id             TEXT    PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants (id),
    name           TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('admin', 'moderator', 'submitter', 'auditor')),
    secret_sha256  BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER
) STRICT;
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id);

CREATE TABLE policies (
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    name        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    toml        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name, version)
) STRICT;

CREATE TABLE libraries (
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    severity    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
) STRICT;

CREATE TABLE library_terms (
    tenant_id   INTEGER NOT NULL,
    library     TEXT    NOT NULL,
    term        TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, library, term),
    FOREIGN KEY (tenant_id, library) REFERENCES libraries (tenant_id, name) ON DELETE CASCADE
) STRICT;

CREATE TABLE banks (
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    name        TEXT    NOT NULL,
    config      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
) STRICT;

CREATE TABLE bank_entries (
    tenant_id   INTEGER NOT NULL,
    bank        TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    hash_kind   TEXT    NOT NULL CHECK (hash_kind IN ('pdq', 'md5', 'sha256')),
    hash        TEXT    NOT NULL,
    quality     INTEGER,
    note        TEXT,
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, bank, id),
    FOREIGN KEY (tenant_id, bank) REFERENCES banks (tenant_id, name) ON DELETE CASCADE
) STRICT;

-- Data minimisation (DESIGN.md §7): hashes, the verdict JSON (labels, scores, evidence
-- snippets of at most 64 characters) and ids. Never the content.
CREATE TABLE verdicts (
    tenant_id       INTEGER NOT NULL REFERENCES tenants (id),
    id              TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    content_type    TEXT    NOT NULL,
    suggestion      TEXT    NOT NULL,
    content_sha256  TEXT    NOT NULL,
    pdq             TEXT,
    client_id       TEXT,
    policy          TEXT    NOT NULL,
    verdict         TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX verdicts_by_content ON verdicts (tenant_id, content_sha256);
