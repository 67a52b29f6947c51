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

/// The CLI arguments for a spec: `-p --output-format stream-json --verbose` and
/// the options the spec sets.
pub(crate) fn args(spec: &JobSpec) -> Vec<String> {
    let mut a: Vec<String> = ["-p", "--output-format", "stream-json", "--verbose"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(m) = &spec.model {
        a.extend(["--model".into(), m.clone()]);
    }
    if let Some(t) = spec.max_turns {
        a.extend(["--max-turns".into(), t.to_string()]);
    }
    if let Some(b) = spec.max_budget_usd {
        a.extend(["--max-budget-usd".into(), b.to_string()]);
    }
    if !spec.allowed_tools.is_empty() {
        a.extend(["--allowedTools".into(), spec.allowed_tools.join(",")]);
    }
    a.extend(spec.extra_args.iter().cloned());
    a
}

/// The environment of the child, built from scratch.
pub(crate) fn env(
    pass: &[String],
    manager_env: &BTreeMap<String, String>,
    spec: &JobSpec,
    config_dir: Option<&Path>,
    home: Option<&Path>,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for name in pass {
        if let Ok(v) = std::env::var(name) {
            env.insert(name.clone(), v);
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
        let a = args(&spec);
        assert_eq!(
            &a[..4],
            &["-p", "--output-format", "stream-json", "--verbose"]
        );
        assert!(a.windows(2).any(|w| w == ["--model", "claude-x"]));
        assert!(a.windows(2).any(|w| w == ["--allowedTools", "Read,Write"]));
        assert_eq!(a.last().unwrap(), "--bare");
        assert!(
            !a.iter().any(|x| x == "p"),
            "the prompt never goes on the command line"
        );
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
        let pass: Vec<String> = ["PATH", "CLAUDECODE"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let e = env(
            &pass,
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
}
