//! Two "machines" (managers on their own data dirs) sharing one store and an
//! artifact store: shared by the artifact tests
//! (`#[path = "common/two_machines.rs"] mod two_machines;`).
#![allow(dead_code)]

use std::path::Path;

use claude_jobs::{IsolationMode, JobInfo, JobManager, JobSpec, OutputSpec};
use sha2::{Digest, Sha256};

use crate::common::builder;

/// A template whose prompt is its `prev` variable (the fake CLI echoes it).
const ECHO_INPUT: &str = "---\nname: echo-input\ndescription: The previous step's output.\nvariables:\n  prev:\n    required: true\n    description: The output.\n---\n{{ prev }}\n";

/// A manager on `dir` (with the `echo-input` template) on the store `url`,
/// keeping artifacts at `artifacts`.
pub async fn machine(dir: &Path, url: &str, artifacts: &str) -> JobManager {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("templates/echo-input.md"), ECHO_INPUT).unwrap();
    builder(dir)
        .templates_dir(dir.join("templates"))
        .store_url(url)
        .artifact_store(artifacts)
        .isolation(IsolationMode::Off)
        .build()
        .await
        .unwrap()
}

/// `spec`, writing `file` (its result text) into the `brand` folder.
pub fn with_output(mut spec: JobSpec, file: &str) -> JobSpec {
    spec.output = Some(OutputSpec { file: file.into(), folder: "brand".into(), name: None });
    spec
}

/// A job that writes `file` (its result text) into the `brand` folder.
pub fn step(prompt: &str, file: &str) -> JobSpec {
    with_output(JobSpec::from_prompt(prompt), file)
}

/// A step whose `echo-input` variable `prev` is job `dep`'s output.
pub fn input_step(dep: &str, file: &str) -> JobSpec {
    with_output(JobSpec::builder().template("echo-input").input("prev", dep).build().unwrap(), file)
}

/// Whether the job ran in the data dir `dir`.
pub fn ran_in(info: &JobInfo, dir: &Path) -> bool {
    info.log_dir.as_ref().is_some_and(|l| l.starts_with(std::fs::canonicalize(dir).unwrap()))
}

/// The SHA-256 of `b`, lowercase hex.
pub fn sha(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}
