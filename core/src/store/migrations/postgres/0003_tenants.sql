-- claude-jobs store, version 3 (PostgreSQL): tenants and their quotas, the
-- admission gate (a store-wide pause after a rate limit), idempotency keys,
-- and the outbox of webhook deliveries.
ALTER TABLE cj_jobs ADD COLUMN tenant TEXT;
ALTER TABLE cj_jobs ADD COLUMN idempotency_key TEXT;
ALTER TABLE cj_jobs ADD COLUMN budget_cap DOUBLE PRECISION;
ALTER TABLE cj_jobs ADD COLUMN cost_usd DOUBLE PRECISION;
UPDATE cj_jobs SET tenant = spec->>'tenant', idempotency_key = spec->>'idempotency_key',
                   cost_usd = (info->>'cost_usd')::float8;
CREATE INDEX cj_jobs_tenant ON cj_jobs (tenant, state) WHERE tenant IS NOT NULL;
CREATE UNIQUE INDEX cj_jobs_idempotency ON cj_jobs (COALESCE(tenant, ''), idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE cj_tenants (
    name             TEXT PRIMARY KEY,
    max_running      INTEGER,
    max_queued       INTEGER,
    daily_budget_usd DOUBLE PRECISION
);

CREATE TABLE cj_gates (
    name     TEXT PRIMARY KEY,
    until_ms BIGINT NOT NULL,
    reason   TEXT
);

CREATE TABLE cj_outbox (
    id           BIGSERIAL PRIMARY KEY,
    job_id       TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    state        TEXT NOT NULL,
    url          TEXT NOT NULL,
    body         TEXT NOT NULL,
    tries        INTEGER NOT NULL DEFAULT 0,
    next_at      BIGINT NOT NULL,
    lease_until  BIGINT,
    delivered_at BIGINT,
    last_error   TEXT
);
CREATE INDEX cj_outbox_due ON cj_outbox (next_at) WHERE delivered_at IS NULL;
