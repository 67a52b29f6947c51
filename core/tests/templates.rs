//! Template jobs: defaults from the front matter, strict variables, outputs
//! collected with safe names, and a workflow whose steps chain outputs.
mod common;

use std::collections::BTreeMap;

use claude_jobs::{ErrorKind, IsolationMode, JobSpec, JobState};
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
    assert_eq!(spec.cpus, Some(0.8), "template default");
    assert_eq!(
        spec.memory,
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
    assert_eq!(job.spec().memory, Some(256 << 20));
    assert_eq!(
        job.wait().await.result.as_deref(),
        Some("echo: A tagline for Kettle.")
    );
}

#[tokio::test]
async fn the_workflow_chains_outputs_in_order() {
    let dir = data_dir();
    let m = builder(dir.path())
        .env("FAKE_CLAUDE_RECORD", "record.json")
        .build()
        .await
        .unwrap();
    let wf = m.submit_workflow("brand", &brand("Kettle Co")).await.unwrap();
    assert_eq!(
        wf.steps.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        ["research", "brief", "draft"]
    );
    let infos: Vec<_> = futures_util::future::join_all(wf.steps.iter().map(|(_, j)| j.wait())).await;
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
    let m = builder(dir.path())
        .env("FAKE_CLAUDE_SCENARIO", "no-result")
        .build()
        .await
        .unwrap();
    let wf = m.submit_workflow("brand", &brand("Kettle Co")).await.unwrap();
    assert_eq!(wf.job("research").unwrap().wait().await.state, JobState::Failed);
    for j in [wf.job("brief").unwrap(), wf.job("draft").unwrap()] {
        let i = j.wait().await;
        assert_eq!(i.state, JobState::Cancelled);
        assert!(i.error.unwrap().contains("dependency"), "reason given");
        assert!(i.started_at.is_none(), "never ran");
    }
}

fn brand(name: &str) -> BTreeMap<String, String> {
    [("brand".to_string(), name.to_string())].into()
}

#[tokio::test]
async fn workflows_are_data_and_check_their_variables_before_submitting() {
    let dir = data_dir();
    let tdir = tempfile::tempdir().unwrap();
    std::fs::create_dir(tdir.path().join("workflows")).unwrap();
    std::fs::write(
        tdir.path().join("workflows/brief-only.yaml"),
        "name: brief-only\nsteps:\n  - { name: research, template: brand-data }\n  - { name: brief, template: brief, inputs: { research: research } }\n",
    )
    .unwrap();
    let m = builder(dir.path()).templates_dir(tdir.path()).build().await.unwrap();
    let names: Vec<String> = m.workflows().await.into_iter().map(|w| w.name).collect();
    assert_eq!(names, ["brand", "brief-only"]);
    let wf = m.submit_workflow("brief-only", &brand("ACME")).await.unwrap();
    assert_eq!(wf.steps.len(), 2);
    assert_eq!(wf.last().spec().template.as_deref(), Some("brief"));
    assert_eq!(wf.last().spec().labels["workflow"], "brief-only");
    for (_, j) in &wf.steps {
        j.wait().await;
    }
    // A missing required variable, an unknown one, an unknown workflow:
    // errors that name them, and nothing submitted.
    let before = m.list(&Default::default()).await.unwrap().jobs.len();
    let e = m.submit_workflow("brand", &BTreeMap::new()).await.unwrap_err();
    assert_eq!((e.kind(), e.field()), (ErrorKind::Template, Some("brand")));
    let mut vars = brand("ACME");
    vars.insert("colour".into(), "red".into());
    let e = m.submit_workflow("brand", &vars).await.unwrap_err();
    assert_eq!(e.field(), Some("colour"));
    let e = m.submit_workflow("nope", &brand("ACME")).await.unwrap_err();
    assert_eq!(e.field(), Some("workflow"));
    assert_eq!(m.list(&Default::default()).await.unwrap().jobs.len(), before);
    // A workflow file whose input names no earlier step is refused at load.
    std::fs::write(
        tdir.path().join("workflows/bad.yaml"),
        "name: bad\nsteps:\n  - { name: brief, template: brief, inputs: { research: nowhere } }\n",
    )
    .unwrap();
    let e = builder(dir.path()).templates_dir(tdir.path()).build().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Template, "{e}");
    m.shutdown(std::time::Duration::from_secs(5)).await;
}
