//! [`JobSpec::validate`]: every check that needs no host and no store, each
//! error naming its field.

use super::JobSpec;
use crate::error::{Error, Result};
use crate::units::check_duration;

impl JobSpec {
    /// Checks every field that can be checked without the host; the error
    /// names the first bad field. The manager calls this again on submit,
    /// with the host's checks (CPU count, memory, working dir, dependencies).
    pub fn validate(&self) -> Result<()> {
        if self.template.is_none() && self.prompt.trim().is_empty() {
            return Err(Error::invalid("prompt", "must not be empty"));
        }
        if let Some(t) = &self.template {
            if t.trim().is_empty() {
                return Err(Error::invalid("template", "must not be empty"));
            }
        }
        self.check_text()?;
        self.check_numbers()?;
        self.check_agent_options()?;
        self.limits().check()?;
        if let Some(dir) = &self.working_dir {
            if dir.as_os_str().is_empty() {
                return Err(Error::invalid("working_dir", "must not be empty"));
            }
        }
        if !self.inputs.is_empty() && self.template.is_none() {
            return Err(Error::invalid(
                "inputs",
                "inputs fill template variables: set a template",
            ));
        }
        self.check_service_fields()?;
        if let Some(o) = &self.output {
            if o.file.trim().is_empty() || o.folder.trim().is_empty() {
                return Err(Error::invalid("output", "needs a file and a folder"));
            }
        }
        Ok(())
    }

    /// Names, values and arguments that reach the command line, the
    /// environment or the file system: no NUL, nothing empty that must not be.
    fn check_text(&self) -> Result<()> {
        for (k, v) in &self.env {
            if k.is_empty() {
                return Err(Error::invalid("env", "a variable name is empty"));
            }
            if k.contains('=') || k.contains('\0') {
                return Err(Error::invalid(
                    "env",
                    format!("variable name {k:?} must not contain '=' or NUL"),
                ));
            }
            if v.contains('\0') {
                return Err(Error::invalid("env", format!("value of {k} contains NUL")));
            }
        }
        if let Some(a) = self.extra_args.iter().find(|a| a.contains('\0')) {
            return Err(Error::invalid("extra_args", format!("argument {a:?} contains NUL")));
        }
        super::agent::check_tools("allowed_tools", &self.allowed_tools)?;
        if let Some(m) = &self.model {
            if m.contains('\0') || m.trim().is_empty() {
                return Err(Error::invalid("model", "must be a non-empty name without NUL"));
            }
        }
        let nul = |s: &String| s.contains('\0');
        for (field, bad) in [
            ("template", self.template.iter().any(nul)),
            ("labels", self.labels.iter().any(|(k, v)| nul(k) || nul(v))),
            ("variables", self.variables.iter().any(|(k, v)| nul(k) || nul(v))),
            ("prompt", nul(&self.prompt)),
            ("working_dir", self.working_dir.iter().any(|d| d.to_string_lossy().contains('\0'))),
        ] {
            if bad {
                return Err(Error::invalid(field, "must not contain NUL"));
            }
        }
        if self.depends_on.iter().any(|id| id.trim().is_empty()) {
            return Err(Error::invalid("depends_on", "a job id is empty"));
        }
        if self.inputs.values().any(|id| id.trim().is_empty()) {
            return Err(Error::invalid("inputs", "a job id is empty"));
        }
        Ok(())
    }

    /// `tenant`, `idempotency_key`, `webhook_url`.
    fn check_service_fields(&self) -> Result<()> {
        if let Some(t) = &self.tenant {
            let ok = !t.is_empty()
                && t.len() <= 64
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok {
                return Err(Error::invalid("tenant", "must be 1 to 64 of A-Z a-z 0-9 . _ -"));
            }
        }
        if let Some(k) = &self.idempotency_key {
            if k.is_empty() || k.len() > 255 || k.contains('\0') {
                return Err(Error::invalid("idempotency_key", "must be 1 to 255 bytes, no NUL"));
            }
        }
        if let Some(u) = &self.webhook_url {
            let scheme_ok = u.starts_with("http://") || u.starts_with("https://");
            if !scheme_ok || u.len() > 2048 || u.chars().any(|c| c.is_control() || c == ' ') {
                return Err(Error::invalid("webhook_url", "must be an http:// or https:// URL"));
            }
        }
        Ok(())
    }

    fn check_numbers(&self) -> Result<()> {
        if let Some(t) = self.timeout {
            check_duration("timeout", t, true)?;
        }
        if let Some(t) = self.idle_timeout {
            check_duration("idle_timeout", t, true)?;
        }
        if self.max_attempts == 0 {
            return Err(Error::invalid("max_attempts", "must be at least 1"));
        }
        if self.max_attempts > 100 {
            return Err(Error::invalid("max_attempts", "must be at most 100"));
        }
        if self.max_turns == Some(0) {
            return Err(Error::invalid("max_turns", "must be at least 1"));
        }
        if let Some(b) = self.max_budget_usd {
            if !b.is_finite() || b <= 0.0 {
                return Err(Error::invalid("max_budget_usd", "must be a positive amount"));
            }
        }
        Ok(())
    }
}
