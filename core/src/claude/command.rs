//! The CLI's command line and its explicit environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::spec::JobSpec;

/// Variables passed through from the manager's environment by default.
pub const DEFAULT_PASS_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "NODE_EXTRA_CA_CERTS",
];

/// Variables that make the CLI think it runs inside another Claude session.
pub const REMOVED_ENV: &[&str] = &[
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_CHILD_SESSION",
];

/// What an attempt adds to the spec's options: the files the manager wrote
/// for it and the session it continues.
#[derive(Debug, Default, Clone)]
pub(crate) struct RunFlags {
    /// The `{"mcpServers": …}` file (`--mcp-config`).
    pub mcp_config: Option<PathBuf>,
    /// The settings file (`--settings`).
    pub settings: Option<PathBuf>,
    /// The session to continue (`--resume`).
    pub resume: Option<String>,
    /// `--fork-session`.
    pub fork: bool,
    /// What the job's tenant may still spend: lowers `--max-budget-usd`,
    /// or sets it.
    pub budget_cap: Option<f64>,
}

/// The CLI arguments for a spec: `-p --output-format stream-json --verbose`,
/// the options the spec sets (in the Agent SDKs' order), then `extra_args`.
/// A value a user gives always goes as `--flag=value`, so that a value that
/// starts with `-` cannot become a flag of its own.
pub(crate) fn args(spec: &JobSpec, run: &RunFlags) -> Vec<String> {
    let mut a: Vec<String> = ["-p", "--output-format", "stream-json", "--verbose"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut flag = |name: &str, value: &str| a.push(format!("--{name}={value}"));
    if let Some(p) = &spec.system_prompt {
        flag("system-prompt", p);
    }
    if let Some(p) = &spec.append_system_prompt {
        flag("append-system-prompt", p);
    }
    if !spec.allowed_tools.is_empty() {
        flag("allowedTools", &spec.allowed_tools.join(","));
    }
    if let Some(t) = spec.max_turns {
        flag("max-turns", &t.to_string());
    }
    let budget = match (spec.max_budget_usd, run.budget_cap) {
        (Some(b), Some(c)) => Some(b.min(c)),
        (b, c) => b.or(c),
    };
    if let Some(b) = budget {
        flag("max-budget-usd", &b.to_string());
    }
    if !spec.disallowed_tools.is_empty() {
        flag("disallowedTools", &spec.disallowed_tools.join(","));
    }
    if let Some(m) = &spec.model {
        flag("model", m);
    }
    if let Some(m) = &spec.fallback_model {
        flag("fallback-model", m);
    }
    if let Some(m) = spec.permission_mode {
        flag("permission-mode", m.as_str());
    }
    if let Some(s) = &run.resume {
        flag("resume", s);
    }
    if let Some(f) = &run.settings {
        flag("settings", &f.display().to_string());
    }
    for d in &spec.add_dirs {
        flag("add-dir", &d.display().to_string());
    }
    if let Some(f) = &run.mcp_config {
        flag("mcp-config", &f.display().to_string());
    }
    if let Some(sources) = &spec.setting_sources {
        let names: Vec<&str> = sources.iter().map(|s| s.as_str()).collect();
        flag("setting-sources", &names.join(","));
    }
    if let Some(e) = spec.effort {
        flag("effort", e.as_str());
    }
    if let Some(schema) = &spec.json_schema {
        flag("json-schema", &serde_json::Value::Object(schema.clone()).to_string());
    }
    if run.mcp_config.is_some() {
        a.push("--strict-mcp-config".into());
    }
    if run.fork && run.resume.is_some() {
        a.push("--fork-session".into());
    }
    a.extend(spec.extra_args.iter().cloned());
    a
}

/// The environment of the child, built from scratch.
pub(crate) fn env<'a>(
    pass: impl IntoIterator<Item = &'a str>,
    manager_env: &BTreeMap<String, String>,
    spec: &JobSpec,
    config_dir: Option<&Path>,
    home: Option<&Path>,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for name in pass {
        if let Ok(v) = std::env::var(name) {
            env.insert(name.to_string(), v);
        }
    }
    for r in REMOVED_ENV {
        env.remove(*r);
    }
    env.extend(manager_env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env.insert("DISABLE_AUTOUPDATER".into(), "1".into());
    if let Some(dir) = config_dir {
        env.insert("CLAUDE_CONFIG_DIR".into(), dir.display().to_string());
    }
    if let Some(h) = home {
        env.insert("HOME".into(), h.display().to_string());
    }
    env.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// Finds `program` on `PATH` unless it contains a slash.
pub fn resolve_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 || program.is_absolute() {
        return is_executable(program).then(|| program.to_path_buf());
    }
    find_in_path(program, &std::env::var_os("PATH")?)
}

/// The first executable `dir/program` for the directories of `path` (a
/// `PATH` value), as `execvp` looks a bare name up.
pub(crate) fn find_in_path(program: &Path, path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_carry_the_spec_options() {
        let spec = JobSpec::builder()
            .prompt("p")
            .model("claude-x")
            .max_turns(3)
            .allowed_tools(["Read", "Write"])
            .extra_args(["--bare"])
            .build()
            .unwrap();
        let a = args(&spec, &RunFlags::default());
        assert_eq!(
            &a[..4],
            &["-p", "--output-format", "stream-json", "--verbose"]
        );
        assert!(a.contains(&"--model=claude-x".to_string()));
        assert!(a.contains(&"--max-turns=3".to_string()));
        assert!(a.contains(&"--allowedTools=Read,Write".to_string()));
        assert_eq!(a.last().unwrap(), "--bare");
        assert!(
            !a.iter().any(|x| x == "p"),
            "the prompt never goes on the command line"
        );
    }

    #[test]
    fn agent_options_become_flag_equals_value() {
        use crate::spec::{Effort, PermissionMode, SettingSource};
        let spec = JobSpec::builder()
            .prompt("p")
            .model("-m")
            .disallowed_tools(["Bash(rm *)", "WebFetch"])
            .permission_mode(PermissionMode::AcceptEdits)
            .system_prompt("--be brief")
            .append_system_prompt("Answer in French.")
            .add_dir("/data/a")
            .add_dir("/data/b")
            .setting_sources([SettingSource::User, SettingSource::Project])
            .fallback_model("claude-small")
            .effort(Effort::Low)
            .json_schema(serde_json::json!({"type": "object"}))
            .resume("job-1")
            .fork_session(true)
            .build()
            .unwrap();
        let run = RunFlags {
            mcp_config: Some("/jobs/x/mcp-config.json".into()),
            settings: Some("/jobs/x/settings.json".into()),
            resume: Some("sess-1".into()),
            fork: true,
            budget_cap: None,
        };
        let a = args(&spec, &run);
        for want in [
            "--model=-m",
            "--disallowedTools=Bash(rm *),WebFetch",
            "--permission-mode=acceptEdits",
            "--system-prompt=--be brief",
            "--append-system-prompt=Answer in French.",
            "--add-dir=/data/a",
            "--add-dir=/data/b",
            "--setting-sources=user,project",
            "--fallback-model=claude-small",
            "--effort=low",
            "--json-schema={\"type\":\"object\"}",
            "--resume=sess-1",
            "--settings=/jobs/x/settings.json",
            "--mcp-config=/jobs/x/mcp-config.json",
            "--strict-mcp-config",
            "--fork-session",
        ] {
            assert!(a.iter().any(|x| x == want), "{want} missing from {a:?}");
        }
        // No value ever stands alone, where it could be read as a flag.
        assert!(!a.iter().any(|x| x == "-m" || x == "--be brief"));
        let empty = JobSpec::builder().prompt("p").setting_sources([]).build().unwrap();
        assert!(args(&empty, &RunFlags::default()).contains(&"--setting-sources=".to_string()));
        let plain = args(&JobSpec::from_prompt("p"), &RunFlags { fork: true, ..Default::default() });
        assert_eq!(plain.len(), 4, "nothing but the output flags: {plain:?}");
    }

    #[test]
    fn env_is_explicit_and_drops_session_markers() {
        std::env::set_var("CLAUDECODE", "1");
        std::env::set_var("SOME_DATABASE_URL", "postgres://secret");
        let spec = JobSpec::builder()
            .prompt("p")
            .env("JOB_VAR", "v")
            .build()
            .unwrap();
        let e = env(
            ["PATH", "CLAUDECODE"],
            &BTreeMap::new(),
            &spec,
            Some(Path::new("/cfg")),
            None,
        );
        assert!(!e.contains_key("CLAUDECODE"));
        assert!(!e.contains_key("SOME_DATABASE_URL"));
        assert_eq!(e["CLAUDE_CONFIG_DIR"], "/cfg");
        assert_eq!(e["JOB_VAR"], "v");
        assert_eq!(e["DISABLE_AUTOUPDATER"], "1");
    }

    #[test]
    fn a_tenant_budget_cap_lowers_or_sets_max_budget_usd() {
        let budget = |spec_budget: Option<f64>, cap: Option<f64>| {
            let mut b = JobSpec::builder().prompt("p");
            if let Some(x) = spec_budget {
                b = b.max_budget_usd(x);
            }
            let run = RunFlags { budget_cap: cap, ..Default::default() };
            args(&b.build().unwrap(), &run)
                .into_iter()
                .find(|a| a.starts_with("--max-budget-usd="))
        };
        assert_eq!(budget(Some(2.0), Some(0.5)).as_deref(), Some("--max-budget-usd=0.5"));
        assert_eq!(budget(Some(0.25), Some(0.5)).as_deref(), Some("--max-budget-usd=0.25"));
        assert_eq!(budget(None, Some(0.75)).as_deref(), Some("--max-budget-usd=0.75"));
        assert_eq!(budget(None, None), None);
    }
}
