//! Paged, filtered listing: [`ListQuery`] in, [`JobPage`] out. Pages are
//! newest first; the cursor is the id of the last job of the page before
//! (ids are UUIDv7, so they sort by submission time), opaque to callers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::state::{JobInfo, JobState};

/// Jobs a page holds when the query says nothing.
pub const DEFAULT_PAGE: u32 = 100;
/// The most jobs a page may hold.
pub const MAX_PAGE: u32 = 1000;

/// Which jobs to list. Every filter is optional.
///
/// ```
/// use claude_jobs::{JobState, ListQuery};
/// let q = ListQuery { state: Some(JobState::Failed), limit: Some(50), ..Default::default() };
/// q.validate()?;
/// # Ok::<(), claude_jobs::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs made from this template.
    pub template: Option<String>,
    /// Only jobs with this label, as `key=value`.
    pub label: Option<String>,
    /// Only jobs of this tenant.
    pub tenant: Option<String>,
    /// Jobs per page (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Where the page starts: a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// Checks the limit, the label's form and the cursor; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if let Some(l) = self.limit {
            if l == 0 || l > MAX_PAGE {
                return Err(Error::invalid("limit", format!("must be from 1 to {MAX_PAGE}")));
            }
        }
        if let Some(label) = &self.label {
            if !label.contains('=') {
                return Err(Error::invalid("label", "must be key=value"));
            }
        }
        if let Some(c) = &self.cursor {
            if c.is_empty() || c.len() > 64 || !c.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
                return Err(Error::invalid("cursor", "is not a cursor from a previous page"));
            }
        }
        Ok(())
    }

    /// The page size in force.
    pub fn page_size(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize
    }

    /// The label filter split into key and value.
    pub fn label_pair(&self) -> Option<(&str, &str)> {
        self.label.as_deref().and_then(|l| l.split_once('='))
    }

    /// True when `info` passes the filters (the cursor aside).
    pub fn matches(&self, info: &JobInfo) -> bool {
        self.state.is_none_or(|s| info.state == s)
            && self.tenant.as_ref().is_none_or(|t| info.tenant.as_ref() == Some(t))
            && self.template.as_ref().is_none_or(|t| info.template.as_ref() == Some(t))
            && self
                .label_pair()
                .is_none_or(|(k, v)| info.labels.get(k).map(String::as_str) == Some(v))
    }
}

/// One page of jobs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobPage {
    pub jobs: Vec<JobInfo>,
    /// Pass it as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl JobPage {
    /// A page from `jobs` read with one row more than the page size: that
    /// row only says whether a next page exists.
    pub(crate) fn from_rows(mut jobs: Vec<JobInfo>, size: usize) -> JobPage {
        let more = jobs.len() > size;
        jobs.truncate(size);
        let next_cursor = if more { jobs.last().map(|j| j.id.clone()) } else { None };
        JobPage { jobs, next_cursor }
    }
}

/// Jobs by state.
pub type StateCounts = BTreeMap<JobState, u64>;
