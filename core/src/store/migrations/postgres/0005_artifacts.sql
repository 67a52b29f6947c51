-- claude-jobs store, version 5 (PostgreSQL): artifacts (the `db` artifact
-- store). A job's logs and collected outputs in chunks, per attempt: a reader
-- takes the chunks of the job's current attempt only, so two attempts never mix.
CREATE TABLE cj_artifacts (
    job_id  TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    name    TEXT NOT NULL,       -- 'log/stdout.log', 'log/stderr.log', 'output/<file>'
    seq     INTEGER NOT NULL,    -- the chunk's place, from 0
    data    BYTEA NOT NULL,
    at_ms   BIGINT NOT NULL,
    PRIMARY KEY (job_id, attempt, name, seq)
);
