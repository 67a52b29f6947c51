//! Template jobs: defaults from the front matter, strict variables, outputs
//! collected with safe names, and a workflow whose steps chain outputs.
mod common;

use std::collections::BTreeMap;

use claude_jobs::{ErrorKind, IsolationMode, JobSpec, JobState, WorkflowOptions};
use common::*;

#[tokio::test]
async fn template_defaults_and_strict_variables() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let e = m
        .submit(JobSpec::builder().template("nope").build().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Template);
    assert_eq!(e.field(), Some("template"));
    let e = m
        .submit(
            JobSpec::builder()
                .template("brief")
                .variable("brand", "A")
                .build()
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.field(),
        Some("research"),
        "missing required variable named: {e}"
    );
    let e = m
        .submit(
            JobSpec::builder()
                .template("brief")
                .variable("brand", "A")
                .variable("research", "r")
                .variable("colour", "x")
                .build()
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("colour"), "unknown variable named: {e}");

    let job = m
        .submit(
            JobSpec::builder()
                .template("brief")
                .variable("brand", "A")
                .variable("research", "r")
                .memory("900M")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let spec = job.spec();
    assert_eq!(spec.limits.cpus, Some(0.8), "template default");
    assert_eq!(
        spec.limits.memory,
        Some(900 << 20),
        "spec overrides template"
    );
    assert_eq!(spec.timeout, Some(std::time::Duration::from_secs(300)));
    assert!(spec.allowed_tools.contains(&"Write".to_string()));
    assert!(spec.prompt.contains("Output file: brief.md"));
    assert_eq!(job.info().template.as_deref(), Some("brief"));
    job.wait().await;
}

#[tokio::test]
async fn outputs_are_collected_and_cannot_escape_their_folder() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let job = m
        .submit(
            JobSpec::builder()
                .template("brief")
                .variable("brand", "../../etc/x")
                .variable("research", "r")
                .env("FAKE_CLAUDE_SCENARIO", "ok")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    let out = &info.outputs[0];
    let folder = std::fs::canonicalize(dir.path().join("brief-outputs")).unwrap();
    assert_eq!(
        std::fs::canonicalize(out).unwrap().parent().unwrap(),
        folder,
        "{out:?}"
    );
    assert!(!dir.path().join("etc").exists() && !std::path::Path::new("/etc/x-brief.md").exists());
    // The fake wrote no file: its result text was collected, with a warning.
    assert!(std::fs::read_to_string(out).unwrap().starts_with("echo: "));
}

#[tokio::test]
async fn a_user_template_folder_adds_templates() {
    let dir = data_dir();
    let tdir = dir.path().join("my-templates");
    std::fs::create_dir(&tdir).unwrap();
    std::fs::write(
        tdir.join("tagline.md"),
        "---\nname: tagline\nvariables:\n  product: {required: true, description: The product}\nlimits: {memory: 256M}\n---\nA tagline for {{ product }}.\n",
    )
    .unwrap();
    let m = builder(dir.path())
        .templates_dir(&tdir)
        .build()
        .await
        .unwrap();
    let job = m
        .submit(
            JobSpec::builder()
                .template("tagline")
                .variable("product", "Kettle")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(job.spec().prompt.trim(), "A tagline for Kettle.");
    assert_eq!(job.spec().limits.memory, Some(256 << 20));
    assert_eq!(
        job.wait().await.result.as_deref(),
        Some("echo: A tagline for Kettle.")
    );
}

#[tokio::test]
async fn the_workflow_chains_outputs_in_order() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let mut env = BTreeMap::new();
    env.insert("FAKE_CLAUDE_RECORD".to_string(), "record.json".to_string());
    let wf = m
        .submit_brand_workflow(
            "Kettle Co",
            WorkflowOptions {
                env,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let infos: Vec<_> = futures_util::future::join_all(wf.jobs().map(|j| j.wait())).await;
    for i in &infos {
        assert_eq!(i.state, JobState::Succeeded, "{i:?}");
        assert_eq!(i.outputs.len(), 1);
    }
    assert!(
        infos[0].finished_at <= infos[1].started_at && infos[1].finished_at <= infos[2].started_at,
        "in order"
    );
    // The brief's prompt carried the research output, the draft's the brief's.
    let prompt_of = |i: &claude_jobs::JobInfo| -> String {
        let rec: serde_json::Value = serde_json::from_slice(
            &std::fs::read(i.log_dir.as_ref().unwrap().join("work/record.json")).unwrap(),
        )
        .unwrap();
        rec["stdin"].as_str().unwrap().to_string()
    };
    let research_out = std::fs::read_to_string(&infos[0].outputs[0]).unwrap();
    let brief_out = std::fs::read_to_string(&infos[1].outputs[0]).unwrap();
    assert!(prompt_of(&infos[1]).contains(research_out.trim()));
    assert!(prompt_of(&infos[2]).contains(brief_out.trim()));
    assert!(infos[0].outputs[0].starts_with(
        std::fs::canonicalize(dir.path())
            .unwrap()
            .join("brand-data")
    ));
    assert!(infos[2].outputs[0].ends_with("Kettle-Co-draft.md"));
}

#[tokio::test]
async fn a_failed_step_cancels_the_rest() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let mut env = BTreeMap::new();
    env.insert("FAKE_CLAUDE_SCENARIO".to_string(), "no-result".to_string());
    let wf = m
        .submit_brand_workflow(
            "Kettle Co",
            WorkflowOptions {
                env,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(wf.research.wait().await.state, JobState::Failed);
    for j in [&wf.brief, &wf.draft] {
        let i = j.wait().await;
        assert_eq!(i.state, JobState::Cancelled);
        assert!(i.error.unwrap().contains("dependency"), "reason given");
        assert!(i.started_at.is_none(), "never ran");
    }
}
