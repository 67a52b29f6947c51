use std::time::Duration;

use super::*;
use crate::spec::JobSpec;

fn field(p: &Policy, mut spec: JobSpec) -> Option<String> {
    p.check(&mut spec).err().map(|e| {
        assert_eq!(e.kind(), crate::ErrorKind::PolicyViolation, "{e}");
        e.field().unwrap().to_string()
    })
}

fn spec() -> JobSpec {
    JobSpec::from_prompt("hi")
}

#[test]
fn the_safe_policy_caps_and_refuses_bash() {
    let p = Policy::safe();
    let mut s = spec();
    p.check(&mut s).unwrap();
    assert_eq!((s.cpus, s.memory, s.pids), (Some(1.0), Some(1 << 30), Some(256)));
    assert_eq!(s.timeout, Some(Duration::from_secs(900)));
    let with = |tools: &[&str]| JobSpec { allowed_tools: tools.iter().map(|t| t.to_string()).collect(), ..spec() };
    assert_eq!(field(&p, with(&["Bash"])).as_deref(), Some("allowed_tools"));
    assert_eq!(field(&p, with(&["Bash(git status)"])).as_deref(), Some("allowed_tools"));
    assert_eq!(field(&p, with(&["NotebookEdit"])).as_deref(), Some("allowed_tools"));
    assert_eq!(field(&p, with(&["Read", "Write"])), None);
    assert_eq!(field(&p, JobSpec { memory: Some(3 << 30), ..spec() }).as_deref(), Some("memory"));
    assert_eq!(field(&p, JobSpec { timeout: Some(Duration::from_secs(3600)), ..spec() }).as_deref(), Some("timeout"));
    for s in [
        JobSpec { env: [("A".into(), "b".into())].into(), ..spec() },
        JobSpec { extra_args: vec!["--x".into()], ..spec() },
        JobSpec { working_dir: Some("/tmp".into()), ..spec() },
        JobSpec { run_as: Some(crate::spec::RunAs { uid: 1, gid: 1 }), ..spec() },
        JobSpec { webhook_url: Some("http://127.0.0.1:1/h".into()), ..spec() },
    ] {
        assert!(field(&p, s).is_some());
    }
    for s in [
        JobSpec { mcp_servers: Some(serde_json::json!({"x": {"command": "/bin/true"}}).as_object().unwrap().clone()), ..spec() },
        JobSpec { add_dirs: vec!["/tmp".into()], ..spec() },
        JobSpec { settings: Some(serde_json::Map::new()), ..spec() },
    ] {
        let want = if s.mcp_servers.is_some() { "mcp_servers" } else if s.settings.is_some() { "settings" } else { "add_dirs" };
        assert_eq!(field(&p, s).as_deref(), Some(want));
    }
    let bypass = JobSpec { permission_mode: Some(crate::spec::PermissionMode::BypassPermissions), ..spec() };
    assert_eq!(field(&p, bypass).as_deref(), Some("permission_mode"));
    // The forbidden tools are removed by the CLI too (whatever the mode).
    let mut s = JobSpec { permission_mode: Some(crate::spec::PermissionMode::AcceptEdits), ..spec() };
    p.check(&mut s).unwrap();
    assert_eq!(s.disallowed_tools, vec!["Bash".to_string()]);
    let big = JobSpec { prompt: "x".repeat(2 << 20), ..spec() };
    assert_eq!(field(&p, big).as_deref(), Some("prompt"));
}

#[test]
fn tenants_override_the_top_level() {
    let p = Policy::from_yaml(
        "max_memory: 2G\nallowed_models: [claude-sonnet-4-5]\nallow: { env: true }\n\
         tenants:\n  a: { max_running: 2, max_queued: 50, daily_budget_usd: 10, max_memory: 4G, allow: {} }\n",
    )
    .unwrap();
    let a = &p.tenants["a"];
    assert_eq!(a.quota.max_running, Some(2));
    assert_eq!(a.quota.daily_budget_usd, Some(10.0));
    let of = |t: Option<&str>, mem: u64| JobSpec { tenant: t.map(String::from), memory: Some(mem), ..spec() };
    assert_eq!(field(&p, of(Some("a"), 3 << 30)), None);
    assert_eq!(field(&p, of(Some("b"), 3 << 30)).as_deref(), Some("memory"));
    let env = |t: &str| JobSpec { tenant: Some(t.into()), env: [("A".into(), "b".into())].into(), memory: Some(1 << 30), ..spec() };
    assert_eq!(field(&p, env("b")), None);
    assert_eq!(field(&p, env("a")).as_deref(), Some("env"), "tenant a's allow replaces the top level's");
    assert_eq!(field(&p, JobSpec { model: Some("claude-opus".into()), memory: Some(1 << 30), ..spec() }).as_deref(), Some("model"));
    assert_eq!(field(&p, spec()).as_deref(), Some("memory"), "a capped key without a default must be set");
}

#[test]
fn bad_policy_files_name_the_key() {
    let e = Policy::from_yaml("max_memroy: 2G").unwrap_err();
    assert!(e.to_string().contains("max_memroy"), "{e}");
    let e = Policy::from_yaml("tenants: { a: { max_running: -1 } }").unwrap_err();
    assert_eq!(e.field(), Some("policy.tenants.a"));
    assert_eq!(Policy::from_yaml("").unwrap(), Policy::default());
}
