-- Rampart store, schema 4 (PostgreSQL): the human-review queue, appeals, content retained for
-- review (purged after the retention period), console sessions, and the review outcome of a
-- verdict.

-- A verdict's flagged labels ("label:suggestion", comma-separated, for reports) and, once a
-- moderator decided it, the human outcome. The verdict JSON itself is never rewritten.
ALTER TABLE verdicts ADD COLUMN flagged TEXT;
ALTER TABLE verdicts ADD COLUMN review_outcome TEXT;
ALTER TABLE verdicts ADD COLUMN reviewed_at BIGINT;
ALTER TABLE verdicts ADD COLUMN reviewed_by TEXT;
CREATE INDEX verdicts_by_client ON verdicts (tenant_id, client_id, created_at);
CREATE INDEX verdicts_by_time ON verdicts (tenant_id, created_at);

-- One item in the queue. reason: why it is there ('review' = the policy said so, 'sample' =
-- a quality-check sample of pass/block, 'appeal' = reopened by an appeal). A claim is a lease:
-- claimed_by may decide until claim_until. excluded_actor (appeals) may not decide it.
CREATE TABLE review_items (
    tenant_id         BIGINT  NOT NULL REFERENCES tenants (id),
    id                TEXT    NOT NULL,
    verdict_id        TEXT    NOT NULL,
    content_type      TEXT    NOT NULL,
    client_id         TEXT,
    automated         TEXT    NOT NULL CHECK (automated IN ('pass', 'review', 'block')),
    reason            TEXT    NOT NULL CHECK (reason IN ('review', 'sample', 'appeal')),
    state             TEXT    NOT NULL CHECK (state IN ('open', 'decided')),
    escalated         BIGINT NOT NULL DEFAULT 0,
    priority          BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    claimed_by        TEXT,
    claim_until       BIGINT,
    appeal_of         TEXT,
    appeal_statement  TEXT,
    excluded_actor    TEXT,
    outcome           TEXT    CHECK (outcome IN ('approve', 'remove')),
    decided_label     TEXT,
    decided_reason    TEXT,
    decided_by        TEXT,
    decided_at        BIGINT,
    reverses          BIGINT,
    purge_after       BIGINT,
    purged_at         BIGINT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX review_open ON review_items (tenant_id, state, escalated, priority, created_at);
CREATE INDEX review_by_verdict ON review_items (tenant_id, verdict_id);
CREATE INDEX review_decided ON review_items (tenant_id, decided_at);
CREATE INDEX review_purge ON review_items (purge_after) WHERE purged_at IS NULL;
CREATE UNIQUE INDEX review_one_open ON review_items (tenant_id, verdict_id) WHERE state = 'open';

-- Every decision on an item, escalations included, in order.
CREATE TABLE review_decisions (
    tenant_id   BIGINT NOT NULL,
    item_id     TEXT    NOT NULL,
    n           BIGINT NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('approve', 'remove', 'escalate')),
    label       TEXT,
    reason      TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, item_id, n),
    FOREIGN KEY (tenant_id, item_id) REFERENCES review_items (tenant_id, id)
);

-- Content kept for the moderator (text, image, video frames) while the item is open, plus the
-- retention period after its decision; then deleted (a dead tuple until VACUUM).
CREATE TABLE review_content (
    tenant_id   BIGINT NOT NULL,
    item_id     TEXT    NOT NULL,
    part        BIGINT NOT NULL,
    media_type  TEXT    NOT NULL,
    t_ms        BIGINT,
    data        BYTEA   NOT NULL,
    PRIMARY KEY (tenant_id, item_id, part),
    FOREIGN KEY (tenant_id, item_id) REFERENCES review_items (tenant_id, id)
);

-- Console sessions: the SHA-256 of the cookie value, never the value.
CREATE TABLE console_sessions (
    id_sha256   BYTEA   PRIMARY KEY,
    tenant_id   BIGINT  NOT NULL REFERENCES tenants (id),
    key_id      TEXT    NOT NULL REFERENCES api_keys (id),
    csrf        TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
