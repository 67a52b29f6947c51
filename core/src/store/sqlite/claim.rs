//! The SQLite claim: one statement (so one transaction: the counts, the
//! budgets, the quotas and the update agree), then who else runs jobs.

use std::sync::atomic::Ordering;

use sqlx::Row;

use super::{SqliteStore, COLS};
use crate::error::{Error, Result};
use crate::store::batch::Batch;
use crate::store::sql::{db_err, raw_row};
use crate::store::{fork_gate, Claim, ClaimOptions};
use crate::util::now_ms;

/// Who else runs jobs from the file, after [`CLAIM`] in the same query
/// (parameter ?6: this node; sqlx numbers `?NNN` across the whole query).
const OTHERS_RUNNING: &str =
    "SELECT COALESCE(SUM(locked_by IS NOT ?6), 0) AS others FROM cj_jobs WHERE state = 'running'";

/// The ready jobs in claim order, with what their tenants may still start;
/// the longest prefix within the slot count and the budgets is taken.
///
/// - `t`: SQLite's clock, read once the write lock is held, in Unix ms
///   (rounded: `julianday` is a float of whole ms), never before the
///   caller's clock (?8): a job submitted this very ms is ready.
/// - `h`: what the running jobs of every process hold (count, caps: a
///   missing or negative cap is 0, sums are floats, `TOTAL`: no overflow).
/// - `q`: each tenant with a quota: its running jobs and what is left of
///   its daily budget (today's finished costs and the running jobs'
///   reserved caps deducted).
/// - `cand`: ready jobs (queued, due, dependencies succeeded, admissions not
///   paused) in claim order, read from the queue index; with no tenant
///   quotas only the first ?1 (every one of them may start), so a claim
///   does not read the whole queue (with 3 000 queued jobs the full read
///   made every claim cost O(queued)); `r`: their specs' caps and rank
///   within their tenant; `c0`: those their tenant may
///   start (within `max_running`; with a budget, the first only, while
///   something is left and its own `max_budget_usd`, if any, fits in what
///   is left), at most the `LIMIT`, each with the cap it reserves (its own
///   `max_budget_usd`, else what is left).
/// - `c`, `pick`: running totals and the prefix that fits (CPU with a 1e-9
///   slack, as `ClaimOptions::fitting`).
///
/// Parameters: ?1 how many, ?2 max running, ?3 memory budget, ?4 CPU budget
/// (each NULL when none), ?5 node, ?6 (see [`OTHERS_RUNNING`]), ?7 lease
/// length in ms, ?8 now (Unix ms).
const CLAIM: &str = "WITH t AS (SELECT MAX(CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER), ?8) AS now), \
     h AS (SELECT COUNT(*) AS n, \
      MAX(TOTAL(json_extract(spec, '$.memory')), 0.0) AS mem, \
      MAX(TOTAL(json_extract(spec, '$.cpus')), 0.0) AS cpu \
      FROM cj_jobs WHERE state = 'running'), \
     q AS (SELECT tn.name, tn.max_running, tn.daily_budget_usd AS budget, \
      (SELECT COUNT(*) FROM cj_jobs x WHERE x.tenant = tn.name AND x.state = 'running') AS running, \
      tn.daily_budget_usd \
       - (SELECT TOTAL(x.cost_usd) FROM cj_jobs x, t WHERE x.tenant = tn.name AND x.state NOT IN ('queued', 'running') \
          AND x.finished_at >= t.now - t.now % 86400000) \
       - (SELECT TOTAL(x.budget_cap) FROM cj_jobs x WHERE x.tenant = tn.name AND x.state = 'running') AS budget_left \
      FROM cj_tenants tn), \
     cand AS (SELECT j.rowid AS rid FROM cj_jobs j, t WHERE j.state = 'queued' AND j.run_at <= t.now \
      AND NOT EXISTS (SELECT 1 FROM cj_gates g WHERE g.until_ms > t.now) \
      AND NOT EXISTS (SELECT 1 FROM cj_job_deps d JOIN cj_jobs p ON p.id = d.dep_id \
       WHERE d.job_id = j.id AND p.state <> 'succeeded') \
      ORDER BY j.priority DESC, j.run_at, j.rowid \
      LIMIT CASE WHEN EXISTS (SELECT 1 FROM cj_tenants) THEN -1 ELSE ?1 END), \
     r AS (SELECT j.id, j.tenant, json_extract(j.spec, '$.max_budget_usd') AS want, \
      MAX(CAST(COALESCE(json_extract(j.spec, '$.memory'), 0) AS REAL), 0.0) AS mem, \
      MAX(CAST(COALESCE(json_extract(j.spec, '$.cpus'), 0) AS REAL), 0.0) AS cpu, \
      j.priority AS prio, j.run_at AS ra, j.rowid AS rid, \
      ROW_NUMBER() OVER (PARTITION BY j.tenant ORDER BY j.priority DESC, j.run_at, j.rowid) AS tk \
      FROM cand JOIN cj_jobs j ON j.rowid = cand.rid), \
     c0 AS (SELECT r.*, CASE WHEN q.budget IS NULL THEN NULL ELSE MIN(COALESCE(r.want, q.budget_left), q.budget_left) END AS reserve \
      FROM r LEFT JOIN q ON q.name = r.tenant \
      WHERE q.name IS NULL OR ((q.max_running IS NULL OR r.tk <= q.max_running - q.running) \
       AND (q.budget IS NULL OR (r.tk = 1 AND q.budget_left > 0 AND (r.want IS NULL OR r.want <= q.budget_left + 1e-9)))) \
      ORDER BY r.prio DESC, r.ra, r.rid LIMIT ?1), \
     c AS (SELECT id, reserve, ROW_NUMBER() OVER w AS k, TOTAL(mem) OVER w AS mem, TOTAL(cpu) OVER w AS cpu FROM c0 \
      WINDOW w AS (ORDER BY prio DESC, ra, rid ROWS UNBOUNDED PRECEDING)), \
     pick AS (SELECT c.id, c.reserve FROM c, h WHERE (?2 IS NULL OR c.k <= ?2 - h.n) \
      AND (?3 IS NULL OR h.mem + c.mem <= ?3) AND (?4 IS NULL OR h.cpu + c.cpu <= ?4 + 1e-9)) \
     UPDATE cj_jobs SET state = 'running', run_lease = run_lease + 1, attempt = attempt + 1, \
     locked_by = ?5, started_at = (SELECT now FROM t), finished_at = NULL, heartbeat_at = (SELECT now FROM t), \
     lease_expires_at = (SELECT now FROM t) + ?7, \
     deadline_at = CASE WHEN timeout_ms IS NULL THEN NULL ELSE (SELECT now FROM t) + timeout_ms END, \
     budget_cap = (SELECT reserve FROM pick WHERE pick.id = cj_jobs.id), \
     cancel_requested_at = NULL WHERE id IN (SELECT id FROM pick)";

impl SqliteStore {
    pub(super) async fn claim_jobs(&self, node: &str, n: usize, opts: &ClaimOptions) -> Result<Vec<Claim>> {
        let _gate = fork_gate::enter().await;
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut b = Batch::default();
        b.stmt(&format!("{CLAIM} RETURNING {COLS}, priority, rowid AS ord, budget_cap"))
            .int(n as i64)
            .opt_int(opts.max_running.map(|m| m as i64))
            .opt_real(opts.memory_budget.map(|m| m as f64))
            .opt_real(opts.cpu_budget)
            .text(node)
            .text(node)
            .int(opts.lease_ttl.as_millis() as i64)
            .int(now_ms() as i64)
            .stmt(OTHERS_RUNNING);
        let rows = {
            let mut w = self.writer.lock().await;
            b.run(&mut w).await?
        };
        let (others, rows) = rows.split_last().ok_or_else(|| Error::Store("the claim read no row".into()))?;
        let others: i64 = others.try_get("others").map_err(db_err)?;
        self.others_running.store(others > 0, Ordering::Relaxed);
        let mut claims = Vec::new();
        for r in rows {
            let prio: i64 = r.try_get("priority").map_err(db_err)?;
            let ord: i64 = r.try_get("ord").map_err(db_err)?;
            let budget_cap: Option<f64> = r.try_get("budget_cap").map_err(db_err)?;
            let row = raw_row!(r)?.decode()?;
            let claim = Claim {
                record: row.record,
                lease: row.lease,
                budget_cap,
            };
            claims.push((prio, ord, claim));
        }
        claims.sort_by_key(|(p, o, _)| (-p, *o));
        Ok(claims.into_iter().map(|(_, _, c)| c).collect())
    }
}
