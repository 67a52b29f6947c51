//! `claude-jobs backup --data-dir D OUT`: a copy of the SQLite job store,
//! consistent and safe to take while managers run (see README, "Durable jobs").

use std::path::PathBuf;
use std::process::ExitCode;

use super::report_error;

#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// The data dir whose store (`claude-jobs.db`) to copy.
    #[arg(long, value_name = "DIR", default_value = "claude-jobs-data")]
    pub data_dir: PathBuf,
    /// The copy to write (must not exist).
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
}

pub async fn run(a: BackupArgs) -> ExitCode {
    let db = a.data_dir.join("claude-jobs.db");
    match claude_jobs::store::backup(&db, &a.out).await {
        Ok(()) => {
            eprintln!("claude-jobs: backed up {} to {}", db.display(), a.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => report_error(&e, false),
    }
}
