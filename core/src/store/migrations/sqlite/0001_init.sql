-- claude-jobs store, version 1 (SQLite). Times are Unix milliseconds.
CREATE TABLE cj_jobs (
    id                  TEXT PRIMARY KEY,          -- UUIDv7
    template            TEXT,
    state               TEXT NOT NULL,             -- queued, running, succeeded, …
    priority            INTEGER NOT NULL DEFAULT 0,
    attempt             INTEGER NOT NULL DEFAULT 0,
    max_attempts        INTEGER NOT NULL DEFAULT 1,
    run_at              INTEGER NOT NULL,          -- not claimed before this time
    created_at          INTEGER NOT NULL,
    started_at          INTEGER,
    finished_at         INTEGER,
    run_lease           INTEGER NOT NULL DEFAULT 0, -- fencing counter, +1 on every claim
    locked_by           TEXT,                      -- node id (hostname-pid) while running
    heartbeat_at        INTEGER,
    lease_expires_at    INTEGER,
    timeout_ms          INTEGER,
    deadline_at         INTEGER,
    cancel_requested_at INTEGER,
    spec                TEXT NOT NULL,             -- JobSpec JSON
    info                TEXT NOT NULL,             -- JobInfo JSON (result, stats, …)
    errors              TEXT NOT NULL DEFAULT '[]', -- one entry per failed attempt
    log_dir             TEXT
);
CREATE INDEX cj_jobs_queue ON cj_jobs (priority DESC, run_at) WHERE state = 'queued';
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
    seq    INTEGER NOT NULL,
    at_ms  INTEGER NOT NULL,
    event  TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
