-- Rampart store, schema 3 (SQLite): the audit log, one hash chain per tenant (DESIGN.md §7).
-- Append-only: the code has no UPDATE or DELETE on this table. `tenant` is the tenant's name
-- as sealed into the entry; `payload` is the canonical JSON whose SHA-256 is payload_sha256,
-- kept beside the chain so it can be purged (NULL) without breaking it.
CREATE TABLE audit_entries (
    tenant_id       INTEGER NOT NULL REFERENCES tenants (id),
    seq             INTEGER NOT NULL,
    ts_ms           INTEGER NOT NULL,
    tenant          TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    payload_sha256  TEXT    NOT NULL,
    prev            TEXT    NOT NULL,
    hash            TEXT    NOT NULL,
    payload         TEXT,
    PRIMARY KEY (tenant_id, seq)
) STRICT;

-- Statements of reasons (GET /v1/reports/dsa) list one suggestion's verdicts by recording time.
CREATE INDEX verdicts_by_suggestion_time ON verdicts (tenant_id, suggestion, created_at, id);
