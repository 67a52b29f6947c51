//! Prometheus metrics of a manager, in the text exposition format.
//!
//! The figures are computed from the store at each scrape (jobs by state,
//! queue length, durations, cost and tokens by template, …), so several
//! managers sharing a store report the same totals. Jobs removed by
//! retention leave the totals. `JobManager::metrics` feeds [`Totals`].

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

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

/// The metric families, filled job by job, then rendered.
pub(crate) struct Totals {
    reg: Registry,
    by_state: Family<StateLabel, Gauge>,
    states: [i64; 8],
    queue: Gauge,
    running: Gauge,
    max: Gauge,
    duration: Family<TemplateLabel, Histogram>,
    cost: Family<TemplateLabel, FloatCounter>,
    tokens: Family<TokenLabel, Counter>,
    peak: Family<TemplateLabel, Histogram>,
    cpu: Family<TemplateLabel, FloatCounter>,
    oom: Counter,
    cgroup_failures: Counter,
    paused: Gauge,
}

impl Default for Totals {
    fn default() -> Self {
        let mut t = Totals {
            reg: Registry::with_prefix("claude_jobs"),
            by_state: Family::default(),
            states: [0; 8],
            queue: Gauge::default(),
            running: Gauge::default(),
            max: Gauge::default(),
            duration: Family::new_with_constructor(duration_histogram as fn() -> Histogram),
            cost: Family::default(),
            tokens: Family::default(),
            peak: Family::new_with_constructor(memory_histogram as fn() -> Histogram),
            cpu: Family::default(),
            oom: Counter::default(),
            cgroup_failures: Counter::default(),
            paused: Gauge::default(),
        };
        t.register();
        t
    }
}

impl Totals {
    fn register(&mut self) {
        let r = &mut self.reg;
        r.register("jobs", "Jobs known to the store, by state", self.by_state.clone());
        r.register("queue_length", "Jobs waiting to run", self.queue.clone());
        r.register("running_jobs", "Jobs running in this manager", self.running.clone());
        r.register("max_concurrent", "The concurrency limit of this manager", self.max.clone());
        r.register("job_duration_seconds", "Run time of finished jobs", self.duration.clone());
        r.register("cost_usd", "Cost of finished jobs as the CLI estimates it", self.cost.clone());
        r.register("tokens", "Tokens used by finished jobs", self.tokens.clone());
        r.register("peak_memory_bytes", "Peak memory of finished jobs' cgroups", self.peak.clone());
        r.register("cpu_seconds", "CPU time of finished jobs", self.cpu.clone());
        r.register("oom_kills", "Jobs killed by the kernel at their memory cap", self.oom.clone());
        r.register(
            "admissions_paused_until_seconds",
            "While the API rate-limits jobs: when admissions resume (Unix seconds; 0 when not paused)",
            self.paused.clone(),
        );
        r.register(
            "cgroup_failures",
            "Jobs whose cgroup could not be made or checked",
            self.cgroup_failures.clone(),
        );
    }

    /// Counts one job.
    pub(crate) fn add(&mut self, j: &JobInfo) {
        if let Some(i) = JobState::ALL.iter().position(|s| *s == j.state) {
            self.states[i] += 1;
        }
        if !j.state.is_final() {
            return;
        }
        let t = TemplateLabel {
            template: template_of(j),
        };
        if let Some(ms) = j.duration_ms() {
            self.duration.get_or_create(&t).observe(ms as f64 / 1000.0);
        }
        if let Some(c) = j.cost_usd {
            self.cost.get_or_create(&t).inc_by(c);
        }
        if let Some(u) = &j.usage {
            for (kind, n) in [
                ("input", u.input_tokens),
                ("output", u.output_tokens),
                ("cache_read", u.cache_read_input_tokens),
                ("cache_creation", u.cache_creation_input_tokens),
            ] {
                let label = TokenLabel {
                    template: t.template.clone(),
                    kind: kind.into(),
                };
                self.tokens.get_or_create(&label).inc_by(n);
            }
        }
        if j.stats.peak_memory_bytes > 0 {
            self.peak.get_or_create(&t).observe(j.stats.peak_memory_bytes as f64);
        }
        self.cpu.get_or_create(&t).inc_by(j.stats.cpu_usage_usec as f64 / 1e6);
        if j.state == JobState::OomKilled {
            self.oom.inc();
        }
        let cgroup = |e: &str| e.contains("cgroup isolation") || e.contains("the kernel refused");
        if j.error.as_deref().is_some_and(cgroup) {
            self.cgroup_failures.inc();
        }
    }

    /// The text exposition.
    pub(crate) fn render(self, running_here: usize, max_concurrent: usize, paused_until_ms: Option<u64>) -> String {
        self.paused.set(paused_until_ms.map(|u| (u / 1000) as i64).unwrap_or(0));
        for (s, n) in JobState::ALL.iter().zip(self.states) {
            let label = StateLabel {
                state: s.as_str().into(),
            };
            self.by_state.get_or_create(&label).set(n);
        }
        self.queue.set(self.states[0]);
        self.running.set(running_here as i64);
        self.max.set(max_concurrent as i64);
        let mut out = String::new();
        encode(&mut out, &self.reg).expect("writing to a String cannot fail");
        out
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
        let mut t = Totals::default();
        t.add(&done);
        t.add(&queued);
        let text = t.render(0, 3, Some(5000));
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
            "claude_jobs_admissions_paused_until_seconds 5",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert!(text.contains("claude_jobs_peak_memory_bytes_bucket"));
    }
}
