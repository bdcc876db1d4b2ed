-- Rampart store, schema 2 (SQLite): asynchronous jobs, webhook deliveries, and vPDQ bank entries.

-- SQLite cannot widen a CHECK constraint in place, so bank_entries is rebuilt inside the
-- migration's transaction: create the new table, copy every row as it is, drop the old one,
-- rename the new one. Nothing references bank_entries, so this is safe with foreign keys on
-- (they cannot be switched off inside a transaction); the table has no secondary indexes or
-- triggers to recreate, and its own foreign key to banks is declared again below.
CREATE TABLE bank_entries_v2 (
    tenant_id   INTEGER NOT NULL,
    bank        TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    hash_kind   TEXT    NOT NULL CHECK (hash_kind IN ('pdq', 'md5', 'sha256', 'vpdq')),
    -- Hex; for vpdq a signature of 66-digit frames (2 of quality, 64 of PDQ).
    hash        TEXT    NOT NULL,
    quality     INTEGER,
    note        TEXT,
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, bank, id),
    FOREIGN KEY (tenant_id, bank) REFERENCES banks (tenant_id, name) ON DELETE CASCADE
) STRICT;
INSERT INTO bank_entries_v2 (tenant_id, bank, id, hash_kind, hash, quality, note, added_at)
    SELECT tenant_id, bank, id, hash_kind, hash, quality, note, added_at FROM bank_entries;
DROP TABLE bank_entries;
ALTER TABLE bank_entries_v2 RENAME TO bank_entries;

-- A video or audio job. The content lives in job_inputs only while the job is queued or
-- running. lease/lease_until say which claim may finish it and until when that claim holds.
CREATE TABLE jobs (
    id             TEXT    PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants (id),
    kind           TEXT    NOT NULL CHECK (kind IN ('video', 'audio')),
    state          TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    progress       REAL    NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    max_attempts   INTEGER NOT NULL,
    client_id      TEXT,
    policy         TEXT,
    callback_url   TEXT,
    input_sha256   TEXT    NOT NULL,
    input_bytes    INTEGER NOT NULL,
    error_code     TEXT,
    error_message  TEXT,
    verdict_id     TEXT,
    lease          TEXT,
    lease_until    INTEGER,
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    finished_at    INTEGER
) STRICT;
CREATE INDEX jobs_by_tenant ON jobs (tenant_id, id);
CREATE INDEX jobs_unfinished ON jobs (id) WHERE state IN ('queued', 'running');

CREATE TABLE job_inputs (
    job_id  TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    data    BLOB NOT NULL
) STRICT;

-- A webhook delivery: the exact body, retried until delivered or given up. Its id is the
-- idempotency id the receiver sees on every attempt.
CREATE TABLE deliveries (
    id               TEXT    PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants (id),
    job_id           TEXT    REFERENCES jobs (id),
    url              TEXT    NOT NULL,
    event            TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    last_status      INTEGER,
    last_error       TEXT,
    lease            TEXT,
    lease_until      INTEGER,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER
) STRICT;
CREATE INDEX deliveries_by_tenant ON deliveries (tenant_id, id);
CREATE INDEX deliveries_by_job ON deliveries (tenant_id, job_id, id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TABLE delivery_attempts (
    delivery_id  TEXT    NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    n            INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    status       INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, n)
) STRICT;

CREATE TABLE webhook_configs (
    tenant_id   INTEGER PRIMARY KEY REFERENCES tenants (id),
    url         TEXT,
    secret      TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
