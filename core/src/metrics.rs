//! Prometheus metrics of a manager, in the text exposition format.
//!
//! The figures are computed from the store at each scrape (jobs by state,
//! queue length, durations, cost and tokens by template, …), so several
//! managers sharing a store report the same totals. Jobs removed by
//! retention leave the totals.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::error::Result;
use crate::manager::JobManager;
use crate::state::{JobInfo, JobState};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TemplateLabel {
    template: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabel {
    template: String,
    kind: String,
}

type FloatCounter = Counter<f64, std::sync::atomic::AtomicU64>;

fn duration_histogram() -> Histogram {
    Histogram::new([
        1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
    ])
}

fn memory_histogram() -> Histogram {
    let mib = (1u64 << 20) as f64;
    Histogram::new([64.0, 128.0, 256.0, 512.0, 800.0, 1024.0, 2048.0, 4096.0].map(|m| m * mib))
}

fn template_of(i: &JobInfo) -> String {
    i.template.clone().unwrap_or_else(|| "none".into())
}

/// Renders the metrics of these jobs.
pub(crate) fn render(jobs: &[JobInfo], running_here: usize, max_concurrent: usize) -> String {
    let mut reg = Registry::with_prefix("claude_jobs");
    let by_state = Family::<StateLabel, Gauge>::default();
    reg.register(
        "jobs",
        "Jobs known to the store, by state",
        by_state.clone(),
    );
    let queue = Gauge::<i64>::default();
    reg.register("queue_length", "Jobs waiting to run", queue.clone());
    let running = Gauge::<i64>::default();
    reg.register(
        "running_jobs",
        "Jobs running in this manager",
        running.clone(),
    );
    let max = Gauge::<i64>::default();
    reg.register(
        "max_concurrent",
        "The concurrency limit of this manager",
        max.clone(),
    );
    let duration = Family::<TemplateLabel, Histogram>::new_with_constructor(
        duration_histogram as fn() -> Histogram,
    );
    reg.register(
        "job_duration_seconds",
        "Run time of finished jobs",
        duration.clone(),
    );
    let cost = Family::<TemplateLabel, FloatCounter>::default();
    reg.register(
        "cost_usd",
        "Cost of finished jobs as the CLI estimates it",
        cost.clone(),
    );
    let tokens = Family::<TokenLabel, Counter>::default();
    reg.register("tokens", "Tokens used by finished jobs", tokens.clone());
    let peak = Family::<TemplateLabel, Histogram>::new_with_constructor(
        memory_histogram as fn() -> Histogram,
    );
    reg.register(
        "peak_memory_bytes",
        "Peak memory of finished jobs' cgroups",
        peak.clone(),
    );
    let cpu = Family::<TemplateLabel, FloatCounter>::default();
    reg.register("cpu_seconds", "CPU time of finished jobs", cpu.clone());
    let oom = Counter::<u64>::default();
    reg.register(
        "oom_kills",
        "Jobs killed by the kernel at their memory cap",
        oom.clone(),
    );
    let cgroup_failures = Counter::<u64>::default();
    reg.register(
        "cgroup_failures",
        "Jobs whose cgroup could not be made or checked",
        cgroup_failures.clone(),
    );

    for s in JobState::ALL {
        let n = jobs.iter().filter(|j| j.state == s).count() as i64;
        by_state
            .get_or_create(&StateLabel {
                state: s.as_str().into(),
            })
            .set(n);
    }
    queue.set(jobs.iter().filter(|j| j.state == JobState::Queued).count() as i64);
    running.set(running_here as i64);
    max.set(max_concurrent as i64);
    for j in jobs.iter().filter(|j| j.state.is_final()) {
        let t = TemplateLabel {
            template: template_of(j),
        };
        if let Some(ms) = j.duration_ms() {
            duration.get_or_create(&t).observe(ms as f64 / 1000.0);
        }
        if let Some(c) = j.cost_usd {
            cost.get_or_create(&t).inc_by(c);
        }
        if let Some(u) = &j.usage {
            for (kind, n) in [
                ("input", u.input_tokens),
                ("output", u.output_tokens),
                ("cache_read", u.cache_read_input_tokens),
                ("cache_creation", u.cache_creation_input_tokens),
            ] {
                tokens
                    .get_or_create(&TokenLabel {
                        template: t.template.clone(),
                        kind: kind.into(),
                    })
                    .inc_by(n);
            }
        }
        if j.stats.peak_memory_bytes > 0 {
            peak.get_or_create(&t)
                .observe(j.stats.peak_memory_bytes as f64);
        }
        cpu.get_or_create(&t)
            .inc_by(j.stats.cpu_usage_usec as f64 / 1e6);
        if j.state == JobState::OomKilled {
            oom.inc();
        }
        if j.error
            .as_deref()
            .map(|e| e.contains("cgroup isolation"))
            .unwrap_or(false)
        {
            cgroup_failures.inc();
        }
    }
    let mut out = String::new();
    encode(&mut out, &reg).expect("writing to a String cannot fail");
    out
}

impl JobManager {
    /// The manager's metrics in the Prometheus text format: jobs by state,
    /// queue length, running jobs, job duration histogram, cost and tokens by
    /// template, peak memory and CPU time by template, OOM kills, cgroup
    /// failures. Serve it at `/metrics`.
    ///
    /// ```no_run
    /// # async fn demo(manager: claude_jobs::JobManager) -> claude_jobs::Result<()> {
    /// let text = manager.metrics().await?;
    /// assert!(text.contains("claude_jobs_queue_length"));
    /// # Ok(()) }
    /// ```
    pub async fn metrics(&self) -> Result<String> {
        let jobs = self.list().await?;
        Ok(render(&jobs, self.running(), self.max_concurrent()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family() {
        let spec = crate::JobSpec::from_prompt("x");
        let mut done = JobInfo::queued("a".into(), &spec, 1000);
        done.state = JobState::OomKilled;
        done.template = Some("brief".into());
        done.started_at = Some(1000);
        done.finished_at = Some(4000);
        done.cost_usd = Some(0.25);
        done.stats.peak_memory_bytes = 100 << 20;
        done.stats.cpu_usage_usec = 1_500_000;
        let queued = JobInfo::queued("b".into(), &spec, 2000);
        let text = render(&[done, queued], 0, 3);
        for needle in [
            "claude_jobs_jobs{state=\"oom_killed\"} 1",
            "claude_jobs_jobs{state=\"queued\"} 1",
            "claude_jobs_queue_length 1",
            "claude_jobs_max_concurrent 3",
            "claude_jobs_job_duration_seconds_sum{template=\"brief\"} 3.0",
            "claude_jobs_cost_usd_total{template=\"brief\"} 0.25",
            "claude_jobs_cpu_seconds_total{template=\"brief\"} 1.5",
            "claude_jobs_oom_kills_total 1",
            "claude_jobs_cgroup_failures_total 0",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert!(text.contains("claude_jobs_peak_memory_bytes_bucket"));
    }
}
