//! The submit-time checks of a spec's agent options that need the host or
//! the store: `resume` (the earlier job, its session, its user and its
//! directories; the options it passes on), `permission_mode` as root, and
//! `add_dirs`.

use std::path::PathBuf;

use super::Inner;
use crate::error::{Error, Result};
use crate::spec::{JobSpec, PermissionMode};
use crate::store::StoreKind;

/// The session a resuming job continues and where it lives.
#[derive(Debug, Clone)]
pub(super) struct Resumed {
    pub session_id: String,
    pub work_dir: PathBuf,
    pub config_dir: Option<PathBuf>,
}

impl Inner {
    /// For a spec with `resume`: checks the earlier job (it exists, has
    /// ended, has a session, ran as the same user, its directories are still
    /// here) and fills what the spec leaves unset from its spec. Errors name
    /// `resume` (or `working_dir`).
    pub(super) async fn resolve_resume(&self, spec: &mut JobSpec) -> Result<Option<Resumed>> {
        let Some(id) = spec.resume.clone() else {
            return Ok(None);
        };
        let bad = |why: String| Error::invalid("resume", why);
        let earlier = self
            .store
            .store
            .get(&id)
            .await?
            .ok_or_else(|| bad(format!("unknown job {id}")))?;
        // A tenant resumes only its own jobs (another's is "unknown", as in
        // the services); a job without a tenant resuming one takes its tenant.
        match (&spec.tenant, &earlier.spec.tenant) {
            (Some(mine), theirs) if theirs.as_ref() != Some(mine) => return Err(bad(format!("unknown job {id}"))),
            (None, Some(theirs)) => spec.tenant = Some(theirs.clone()),
            _ => {}
        }
        let info = &earlier.info;
        if !info.state.is_final() {
            return Err(bad(format!(
                "job {id} is still {}: a session can be resumed once its job has ended",
                info.state
            )));
        }
        let session_id = info
            .session_id
            .clone()
            .ok_or_else(|| bad(format!("job {id} has no Claude session to resume (its CLI never reported one)")))?;
        spec.inherit_from(&earlier.spec);
        if spec.run_as != earlier.spec.run_as {
            let who = |r: Option<crate::spec::RunAs>| r.map(|r| format!("uid {}", r.uid)).unwrap_or("the manager's user".into());
            return Err(bad(format!(
                "job {id} ran as {}; a job that resumes it must run as the same user (its files are that user's), not as {}",
                who(earlier.spec.run_as),
                who(spec.run_as)
            )));
        }
        let own = self.opts.data_dir.join("jobs").join(&id);
        let work_dir = info
            .work_dir
            .clone()
            .or_else(|| earlier.spec.working_dir.clone())
            .unwrap_or_else(|| own.join("work"));
        let config_dir = match &info.config_dir {
            Some(c) => Some(c.clone()),
            None if info.work_dir.is_none() && self.opts.per_job_config_dir => Some(own.join("claude-config")),
            None => None,
        };
        if let Some(w) = &spec.working_dir {
            if *w != work_dir {
                return Err(Error::invalid(
                    "working_dir",
                    format!("a job that resumes job {id} runs in its working dir, {}", work_dir.display()),
                ));
            }
        }
        // Another node may hold the directories: that node finds out when it runs the job.
        if self.store.store.kind() != StoreKind::Network {
            for dir in [Some(&work_dir), config_dir.as_ref()].into_iter().flatten() {
                if !dir.is_dir() {
                    return Err(bad(format!(
                        "the session files of job {id} are gone ({} does not exist; retention deletes them with the job's logs)",
                        dir.display()
                    )));
                }
            }
        }
        Ok(Some(Resumed { session_id, work_dir, config_dir }))
    }

    /// The agent options checked on this host: `bypassPermissions` is
    /// refused by the CLI as root; `add_dirs` must be directories (made
    /// absolute, as the CLI runs in another directory).
    pub(super) fn check_agent_host(&self, spec: &mut JobSpec) -> Result<()> {
        if spec.permission_mode == Some(PermissionMode::BypassPermissions) {
            // SAFETY: geteuid cannot fail.
            let uid = spec.run_as.map(|r| r.uid).unwrap_or_else(|| unsafe { libc::geteuid() });
            if uid == 0 {
                return Err(Error::invalid(
                    "permission_mode",
                    "bypassPermissions: the Claude CLI refuses it when it runs as root; \
                     run the job as an unprivileged user (run_as)",
                ));
            }
        }
        for dir in spec.add_dirs.iter_mut() {
            match std::fs::metadata(&*dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(Error::invalid("add_dirs", format!("{} is not a directory", dir.display()))),
                Err(e) => return Err(Error::invalid("add_dirs", format!("{}: {e}", dir.display()))),
            }
            *dir = std::path::absolute(&*dir).map_err(|e| Error::invalid("add_dirs", format!("{}: {e}", dir.display())))?;
        }
        Ok(())
    }
}
