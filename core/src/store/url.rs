//! Store URLs: `memory`, `sqlite:///path/to/file.db` and `postgres://…`.

use std::path::Path;
use std::sync::Arc;

use super::{JobStore, MemoryStore};
use crate::error::{Error, Result};

/// Checks that `url` names a kind of store this build can open; the error
/// (`InvalidSpec`, field `store_url`) has the password redacted.
pub fn check_url(url: &str) -> Result<()> {
    let url = url.trim();
    let known = url == "memory"
        || url == "memory://"
        || (cfg!(feature = "sqlite") && url.starts_with("sqlite:") && url.len() > "sqlite://".len())
        || (cfg!(feature = "postgres") && (url.starts_with("postgres://") || url.starts_with("postgresql://")));
    if known {
        return Ok(());
    }
    Err(Error::invalid(
        "store_url",
        format!(
            "{}: not a store this build can open (use memory, sqlite:///path/file.db{})",
            redact_url(url),
            if cfg!(feature = "postgres") { " or postgres://…" } else { "" }
        ),
    ))
}

/// Opens the store a URL names, applying its migrations:
///
/// - `memory`: [`MemoryStore`] (nothing survives the process);
/// - `sqlite:///abs/path.db`, `sqlite://relative.db` or `sqlite:path.db`:
///   [`super::SqliteStore`] (a relative path is taken inside `data_dir`);
/// - `postgres://user:pass@host:port/db` (or `postgresql://`): [`super::PgStore`],
///   with the `postgres` feature.
///
/// Errors: `Store`, naming the URL with its password redacted.
pub async fn open(url: &str, data_dir: &Path) -> Result<Arc<dyn JobStore>> {
    let url = url.trim();
    if url == "memory" || url == "memory://" {
        return Ok(Arc::new(MemoryStore::new()));
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        #[cfg(feature = "sqlite")]
        {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(Error::Store(format!("{url}: no database file in the URL")));
            }
            let path = data_dir.join(path);
            return Ok(Arc::new(super::SqliteStore::open(&path).await?));
        }
        #[cfg(not(feature = "sqlite"))]
        {
            let _ = (rest, data_dir);
            return Err(Error::Store(format!(
                "{url}: this build has no SQLite store (feature `sqlite`)"
            )));
        }
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            return Ok(Arc::new(super::PgStore::connect(url).await?));
        }
        #[cfg(not(feature = "postgres"))]
        {
            return Err(Error::Store(format!(
                "{}: this build has no PostgreSQL store (enable the `postgres` feature)",
                redact_url(url)
            )));
        }
    }
    Err(Error::Store(format!(
        "{}: unknown store URL (use memory, sqlite:///path/file.db or postgres://…)",
        redact_url(url)
    )))
}

/// The URL with its password replaced by `***` (`postgres://me:***@host/db`),
/// and any `password=` query parameter too. For logs and errors.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        let auth_end = out[auth_start..]
            .find(['/', '?'])
            .map(|i| auth_start + i)
            .unwrap_or(out.len());
        if let Some(at) = out[auth_start..auth_end].rfind('@') {
            let userinfo = &out[auth_start..auth_start + at];
            if let Some(colon) = userinfo.find(':') {
                let user = userinfo[..colon].to_string();
                out.replace_range(auth_start..auth_start + at, &format!("{user}:***"));
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{base}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://me:secret@db:5432/jobs"),
            "postgres://me:***@db:5432/jobs"
        );
        assert_eq!(redact_url("postgres://me@db/jobs"), "postgres://me@db/jobs");
        assert_eq!(
            redact_url("postgres://db/jobs?user=me&password=secret"),
            "postgres://db/jobs?user=me&password=***"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
