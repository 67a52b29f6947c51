-- claude-jobs store, version 4 (PostgreSQL): schedules. Each tick of a schedule
-- submits its spec with the idempotency key `schedule:<name>:<tick_ms>`
-- (unique per tenant: the tick runs once whichever manager fires it), then
-- moves last_tick_ms on with a compare-and-set.
CREATE TABLE cj_schedules (
    name         TEXT PRIMARY KEY,
    cron         TEXT NOT NULL,
    timezone     TEXT NOT NULL,
    catch_up     TEXT NOT NULL,      -- 'run_once' or 'skip'
    spec         TEXT NOT NULL,      -- the JobSpec, JSON
    last_tick_ms BIGINT NOT NULL,    -- the latest tick handled (at first: when it was set)
    created_ms   BIGINT NOT NULL,
    updated_ms   BIGINT NOT NULL
);
