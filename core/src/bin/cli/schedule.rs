//! `claude-jobs schedule add|list|remove`: the schedules of a store. These
//! open the store itself rather than a manager, so that a short command does
//! not claim (and then interrupt) a queued job; the managers of the store
//! (`claude-jobs serve`, the services) fire the ticks.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use claude_jobs::store::JobStore;
use claude_jobs::{CatchUp, Schedule, ScheduleOptions};

use super::spec::{spec, SpecArgs};
use super::{report_error, ManagerArgs};

#[derive(clap::Args, Debug)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    pub command: ScheduleCommand,
}

// Parsed once per process: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum ScheduleCommand {
    /// Add a schedule, or replace the one of that name: the job the spec
    /// flags describe, submitted on every tick of CRON.
    Add(AddArgs),
    /// List the schedules, by name.
    List(ListArgs),
    /// Remove a schedule (its jobs already submitted stay).
    Remove(RemoveArgs),
}

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// Letters, digits, '-', '_', '.'.
    pub name: String,
    /// 5 fields (minute hour day-of-month month day-of-week), or 6 with
    /// leading seconds ("*/2 * * * * *": every 2 s); @hourly, @daily, ...
    pub cron: String,
    /// The IANA time zone CRON is read in (e.g. Europe/Paris; default UTC).
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// Ticks missed while no manager ran: run_once (the latest runs at
    /// start) or skip.
    #[arg(long, value_name = "POLICY", default_value = "run_once")]
    pub catch_up: String,
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Print the schedule as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub manager: ManagerArgs,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// One JSON array on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub manager: ManagerArgs,
}

#[derive(clap::Args, Debug)]
pub struct RemoveArgs {
    pub name: String,
    #[command(flatten)]
    pub manager: ManagerArgs,
}

/// The store the manager flags name (by default SQLite in the data dir).
async fn store(m: &ManagerArgs) -> claude_jobs::Result<Arc<dyn JobStore>> {
    std::fs::create_dir_all(&m.data_dir)
        .map_err(|e| claude_jobs::Error::InvalidSpec { field: "data_dir".into(), reason: format!("{}: {e}", m.data_dir.display()) })?;
    let url = m.store.clone().unwrap_or_else(|| "sqlite://claude-jobs.db".into());
    claude_jobs::store::check_url(&url)?;
    claude_jobs::store::open(&url, &m.data_dir).await
}

async fn add(a: &AddArgs) -> claude_jobs::Result<Schedule> {
    let opts = ScheduleOptions { timezone: a.timezone.clone(), catch_up: CatchUp::parse(&a.catch_up)? };
    let s = Schedule::new(&a.name, &a.cron, spec(&a.spec)?, opts)?;
    Ok(store(&a.manager).await?.put_schedule(&s).await?.with_next_tick())
}

fn print(s: &Schedule) {
    let at = |ms: Option<u64>| ms.map_or("-".to_string(), |ms| format!("{ms}"));
    println!(
        "{}\t{}\t{}\t{}\tnext_tick_ms={}\tlast_tick_ms={}",
        s.name,
        s.cron,
        s.timezone,
        s.catch_up.as_str(),
        at(s.next_tick_ms),
        at(s.last_tick_ms)
    );
}

pub async fn run(a: ScheduleArgs) -> ExitCode {
    match a.command {
        ScheduleCommand::Add(a) => match add(&a).await {
            Ok(s) if a.json => println!("{}", serde_json::to_string(&s).expect("Schedule serializes")),
            Ok(s) => print(&s),
            Err(e) => return report_error(&e, a.json),
        },
        ScheduleCommand::List(a) => {
            let list = match store(&a.manager).await {
                Ok(st) => st.schedules().await,
                Err(e) => Err(e),
            };
            let list: Vec<Schedule> = match list {
                Ok(l) => l.into_iter().map(Schedule::with_next_tick).collect(),
                Err(e) => return report_error(&e, a.json),
            };
            if a.json {
                println!("{}", serde_json::to_string(&list).expect("Schedule serializes"));
            } else {
                list.iter().for_each(print);
            }
        }
        ScheduleCommand::Remove(a) => {
            let removed = match store(&a.manager).await {
                Ok(st) => st.delete_schedule(&a.name).await,
                Err(e) => Err(e),
            };
            match removed {
                Ok(true) => eprintln!("removed schedule {}", a.name),
                Ok(false) => {
                    eprintln!("claude-jobs: no schedule named {}", a.name);
                    return ExitCode::from(1);
                }
                Err(e) => return report_error(&e, false),
            }
        }
    }
    ExitCode::SUCCESS
}
