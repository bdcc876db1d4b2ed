-- Rampart store, schema 2 (PostgreSQL): asynchronous jobs, webhook deliveries, and vPDQ bank
-- entries.

ALTER TABLE bank_entries DROP CONSTRAINT bank_entries_hash_kind_check;
ALTER TABLE bank_entries ADD CONSTRAINT bank_entries_hash_kind_check
    CHECK (hash_kind IN ('pdq', 'md5', 'sha256', 'vpdq'));

-- A video or audio job. The content lives in job_inputs only while the job is queued or
-- running. lease/lease_until say which claim may finish it and until when that claim holds.
CREATE TABLE jobs (
    id             TEXT    PRIMARY KEY,
    tenant_id      BIGINT  NOT NULL REFERENCES tenants (id),
    kind           TEXT    NOT NULL CHECK (kind IN ('video', 'audio')),
    state          TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    progress       DOUBLE PRECISION NOT NULL DEFAULT 0,
    attempts       BIGINT  NOT NULL DEFAULT 0,
    max_attempts   BIGINT  NOT NULL,
    client_id      TEXT,
    policy         TEXT,
    callback_url   TEXT,
    input_sha256   TEXT    NOT NULL,
    input_bytes    BIGINT  NOT NULL,
    error_code     TEXT,
    error_message  TEXT,
    verdict_id     TEXT,
    lease          TEXT,
    lease_until    BIGINT,
    created_at     BIGINT  NOT NULL,
    started_at     BIGINT,
    finished_at    BIGINT
);
CREATE INDEX jobs_by_tenant ON jobs (tenant_id, id);
CREATE INDEX jobs_unfinished ON jobs (id) WHERE state IN ('queued', 'running');

CREATE TABLE job_inputs (
    job_id  TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    data    BYTEA NOT NULL
);

-- A webhook delivery: the exact body, retried until delivered or given up. Its id is the
-- idempotency id the receiver sees on every attempt.
CREATE TABLE deliveries (
    id               TEXT    PRIMARY KEY,
    tenant_id        BIGINT  NOT NULL REFERENCES tenants (id),
    job_id           TEXT    REFERENCES jobs (id),
    url              TEXT    NOT NULL,
    event            TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,
    last_status      BIGINT,
    last_error       TEXT,
    lease            TEXT,
    lease_until      BIGINT,
    created_at       BIGINT  NOT NULL,
    delivered_at     BIGINT
);
CREATE INDEX deliveries_by_tenant ON deliveries (tenant_id, id);
CREATE INDEX deliveries_by_job ON deliveries (tenant_id, job_id, id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TABLE delivery_attempts (
    delivery_id  TEXT    NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    n            BIGINT  NOT NULL,
    at           BIGINT  NOT NULL,
    status       BIGINT,
    error        TEXT,
    duration_ms  BIGINT  NOT NULL,
    PRIMARY KEY (delivery_id, n)
);

CREATE TABLE webhook_configs (
    tenant_id   BIGINT  PRIMARY KEY REFERENCES tenants (id),
    url         TEXT,
    secret      TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL
);
