-- claude-jobs store, version 2 (SQLite): a job spec's caps are top-level
-- fields (`cpus`, `memory`, `pids`), no longer a `limits` object.
UPDATE cj_jobs
SET spec = json_set(
        json_remove(spec, '$.limits'),
        '$.cpus', json_extract(spec, '$.limits.cpus'),
        '$.memory', json_extract(spec, '$.limits.memory'),
        '$.pids', json_extract(spec, '$.limits.pids'))
WHERE json_type(spec, '$.limits') = 'object';
