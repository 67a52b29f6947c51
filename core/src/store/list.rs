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

    /// The `WHERE` clause of a page query and its values in order, naming
    /// only the filters given and the cursor: a generic `(?1 IS NULL OR
    /// state = ?1)` keeps both databases from using the `(state, id)`
    /// index (a page of a rare state then scanned the table). `ph(n)`
    /// writes the n-th placeholder (from 1), `label(k, v)` the label test
    /// on two placeholders. The page size is the next placeholder.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn sql_filter(
        &self,
        ph: impl Fn(usize) -> String,
        label: impl Fn(&str, &str) -> String,
    ) -> (String, Vec<String>) {
        let mut conds = Vec::new();
        let mut vals: Vec<String> = Vec::new();
        let mut eq = |col: &str, v: &str, conds: &mut Vec<String>| {
            vals.push(v.to_string());
            conds.push(format!("{col} = {}", ph(vals.len())));
        };
        if let Some(s) = self.state {
            eq("state", s.as_str(), &mut conds);
        }
        if let Some(t) = &self.template {
            eq("template", t, &mut conds);
        }
        if let Some(t) = &self.tenant {
            eq("tenant", t, &mut conds);
        }
        if let Some((k, v)) = self.label_pair() {
            vals.extend([k.to_string(), v.to_string()]);
            conds.push(label(&ph(vals.len() - 1), &ph(vals.len())));
        }
        if let Some(c) = &self.cursor {
            vals.push(c.clone());
            conds.push(format!("id < {}", ph(vals.len())));
        }
        let clause = if conds.is_empty() { "1 = 1".to_string() } else { conds.join(" AND ") };
        (clause, vals)
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

#[cfg(all(test, any(feature = "sqlite", feature = "postgres")))]
mod tests {
    use super::*;

    #[test]
    fn the_sql_filter_names_only_the_filters_given_in_placeholder_order() {
        let label = |k: &str, v: &str| format!("L({k},{v})");
        let (w, vals) = ListQuery::default().sql_filter(|n| format!("${n}"), label);
        assert_eq!((w.as_str(), vals.len()), ("1 = 1", 0));
        let q = ListQuery {
            state: Some(JobState::Failed),
            tenant: Some("acme".into()),
            label: Some("team=a".into()),
            cursor: Some("0190-ab".into()),
            ..Default::default()
        };
        let (w, vals) = q.sql_filter(|n| format!("?{n}"), label);
        assert_eq!(w, "state = ?1 AND tenant = ?2 AND L(?3,?4) AND id < ?5");
        assert_eq!(vals, ["failed", "acme", "team", "a", "0190-ab"]);
    }
}
