-- claude-jobs store, version 3 (SQLite): tenants and their quotas, the
-- admission gate (a store-wide pause after a rate limit), idempotency keys,
-- and the outbox of webhook deliveries.
ALTER TABLE cj_jobs ADD COLUMN tenant TEXT;
ALTER TABLE cj_jobs ADD COLUMN idempotency_key TEXT;
ALTER TABLE cj_jobs ADD COLUMN budget_cap REAL;      -- USD reserved while it runs (its --max-budget-usd)
ALTER TABLE cj_jobs ADD COLUMN cost_usd REAL;        -- what it cost, once finished
UPDATE cj_jobs SET tenant = json_extract(spec, '$.tenant'),
                   idempotency_key = json_extract(spec, '$.idempotency_key'),
                   cost_usd = json_extract(info, '$.cost_usd');
CREATE INDEX cj_jobs_tenant ON cj_jobs (tenant, state) WHERE tenant IS NOT NULL;
CREATE UNIQUE INDEX cj_jobs_idempotency ON cj_jobs (COALESCE(tenant, ''), idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE cj_tenants (
    name             TEXT PRIMARY KEY,
    max_running      INTEGER,
    max_queued       INTEGER,
    daily_budget_usd REAL
);

CREATE TABLE cj_gates (
    name     TEXT PRIMARY KEY,      -- 'rate_limit'
    until_ms INTEGER NOT NULL,      -- no job is claimed before this time
    reason   TEXT
);

CREATE TABLE cj_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id       TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    state        TEXT NOT NULL,
    url          TEXT NOT NULL,
    body         TEXT NOT NULL,
    tries        INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    lease_until  INTEGER,
    delivered_at INTEGER,
    last_error   TEXT
);
CREATE INDEX cj_outbox_due ON cj_outbox (next_at) WHERE delivered_at IS NULL;
