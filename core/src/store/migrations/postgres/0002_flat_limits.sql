-- claude-jobs store, version 2 (PostgreSQL): a job spec's caps are top-level
-- fields (`cpus`, `memory`, `pids`), no longer a `limits` object.
UPDATE cj_jobs
SET spec = (spec - 'limits') || jsonb_build_object(
        'cpus', spec->'limits'->'cpus',
        'memory', spec->'limits'->'memory',
        'pids', spec->'limits'->'pids')
WHERE jsonb_typeof(spec->'limits') = 'object';
