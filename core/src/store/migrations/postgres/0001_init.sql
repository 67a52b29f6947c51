-- claude-jobs store, version 1 (PostgreSQL 13+). Times are Unix milliseconds.
CREATE TABLE cj_jobs (
    id                  TEXT PRIMARY KEY,          -- UUIDv7
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY,
    template            TEXT,
    state               TEXT NOT NULL,
    priority            INTEGER NOT NULL DEFAULT 0,
    attempt             INTEGER NOT NULL DEFAULT 0,
    max_attempts        INTEGER NOT NULL DEFAULT 1,
    run_at              BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    started_at          BIGINT,
    finished_at         BIGINT,
    run_lease           BIGINT NOT NULL DEFAULT 0,
    locked_by           TEXT,
    heartbeat_at        BIGINT,
    lease_expires_at    BIGINT,
    timeout_ms          BIGINT,
    deadline_at         BIGINT,
    cancel_requested_at BIGINT,
    spec                JSONB NOT NULL,
    info                JSONB NOT NULL,
    errors              JSONB NOT NULL DEFAULT '[]',
    log_dir             TEXT
);
CREATE INDEX cj_jobs_queue ON cj_jobs (priority DESC, run_at, seq) WHERE state = 'queued';
CREATE INDEX cj_jobs_running ON cj_jobs (locked_by) WHERE state = 'running';
CREATE INDEX cj_jobs_finished ON cj_jobs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE cj_job_deps (
    job_id TEXT NOT NULL REFERENCES cj_jobs (id) ON DELETE CASCADE,
    dep_id TEXT NOT NULL,
    PRIMARY KEY (job_id, dep_id)
);
CREATE INDEX cj_job_deps_dep ON cj_job_deps (dep_id);

CREATE TABLE cj_events (
    job_id TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    at_ms  BIGINT NOT NULL,
    event  JSONB NOT NULL,
    PRIMARY KEY (job_id, seq)
);
