//! List semantics shared by every collection: `search_filter` (a JSON object; each key a field
//! path like `creator.username`, matched as a case-sensitive substring), `sort` (comma list, `-`
//! for descending), `page_size` (default 10) and an opaque `page_token`.

use serde_json::Value;

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_PAGE_SIZE: usize = 10;
pub const MAX_PAGE_SIZE: usize = 1000;

#[derive(Debug, Default)]
pub struct ListQuery {
    pub search_filter: Option<String>,
    pub sort: Option<String>,
    pub page_size: Option<i64>,
    pub page_token: Option<String>,
}

/// Read from the query string by hand: a value that is not what the parameter takes gets the
/// JSON error envelope naming it (`page_size=ten`), as CML's gateway answers, never a plain-text
/// rejection. Parameters a list does not take are ignored.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map_err(|e| ApiError::invalid(format!("the query string cannot be read: {e}")))?;
        let mut q = ListQuery::default();
        for (key, value) in pairs {
            match key.as_str() {
                "search_filter" => q.search_filter = Some(value),
                "sort" => q.sort = Some(value),
                "page_token" => q.page_token = Some(value),
                "page_size" => {
                    let n = value.trim().parse::<i64>().map_err(|_| ApiError::invalid(format!("page_size: {value:?} is not a whole number")))?;
                    q.page_size = Some(n);
                }
                _ => {}
            }
        }
        Ok(q)
    }
}

impl ListQuery {
    /// The filter as (field path, wanted substring) pairs.
    pub fn filter(&self) -> ApiResult<Vec<(String, String)>> {
        let Some(raw) = self.search_filter.as_deref().filter(|s| !s.trim().is_empty()) else {
            return Ok(vec![]);
        };
        let value: Value = serde_json::from_str(raw)
            .map_err(|e| ApiError::invalid(format!("search_filter is not a JSON object: {e}")))?;
        let Value::Object(map) = value else {
            return Err(ApiError::invalid("search_filter must be a JSON object"));
        };
        Ok(map
            .into_iter()
            .map(|(k, v)| {
                let wanted = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, wanted)
            })
            .collect())
    }

    pub fn page_size(&self) -> ApiResult<usize> {
        match self.page_size {
            None | Some(0) => Ok(DEFAULT_PAGE_SIZE),
            Some(n) if n < 0 => Err(ApiError::invalid("page_size must not be negative")),
            Some(n) if n as usize > MAX_PAGE_SIZE => Err(ApiError::invalid(format!("page_size {n} is more than this workspace pages by (at most {MAX_PAGE_SIZE})"))),
            Some(n) => Ok(n as usize),
        }
    }

    pub fn offset(&self) -> ApiResult<usize> {
        match self.page_token.as_deref() {
            None | Some("") => Ok(0),
            Some(token) => decode_token(token),
        }
    }

    /// Sort keys as (field path, descending).
    pub fn sort_keys(&self) -> Vec<(String, bool)> {
        self.sort
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| match k.strip_prefix('-') {
                Some(rest) => (rest.to_string(), true),
                None => (k.trim_start_matches('+').to_string(), false),
            })
            .collect()
    }
}

pub fn encode_token(offset: usize) -> String {
    format!("o{offset:x}")
}

fn decode_token(token: &str) -> ApiResult<usize> {
    token
        .strip_prefix('o')
        .and_then(|hex| usize::from_str_radix(hex, 16).ok())
        .ok_or_else(|| ApiError::invalid("page_token is not one this workspace issued"))
}

/// What one list operation accepts: the `search_filter` and `sort` keys CML documents for it (where
/// its documentation is plainly wrong, what the items have), keys it reads under another name,
/// and whether `metrics.`, `tags.` and `params.` keys reach into an experiment run's data.
pub struct Keys {
    pub filters: &'static [&'static str],
    pub sorts: &'static [&'static str],
    pub aliases: &'static [(&'static str, &'static str)],
    pub dynamic: bool,
}

impl Keys {
    fn resolve<'k>(&self, key: &'k str) -> &'k str {
        self.aliases.iter().find(|(from, _)| *from == key).map_or(key, |(_, to)| to)
    }

    fn is_dynamic(&self, key: &str) -> bool {
        self.dynamic && ["metrics.", "tags.", "params."].iter().any(|p| key.starts_with(p) && key.len() > p.len())
    }

    fn check(&self, key: &str, allowed: &[&str], what: &str) -> ApiResult<()> {
        if allowed.contains(&key) || self.is_dynamic(key) {
            return Ok(());
        }
        let dynamic = if self.dynamic { " (and metrics.<key>, tags.<key>, params.<key>)" } else { "" };
        let keys = if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") };
        Err(ApiError::invalid(format!("{what} key {key:?} is not supported here; supported keys: {keys}{dynamic}")))
    }

    /// An item's value at `path`: a dotted path, or a run's metric, tag or param by key.
    fn field<'a>(&self, value: &'a Value, path: &str) -> Option<&'a Value> {
        let path = self.resolve(path);
        if self.is_dynamic(path) {
            let (kind, key) = path.split_once('.').expect("a dynamic key has a dot");
            return value["data"][kind].as_array()?.iter().find(|e| e["key"] == key).map(|e| &e["value"]);
        }
        path.split('.').try_fold(value, |v, key| v.get(key))
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Two sort values: numbers as numbers (metric values), the rest as text (RFC 3339 times sort as
/// text); an item without the key sorts last.
fn compare(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.filter(|v| !v.is_null()), b.filter(|v| !v.is_null())) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => as_text(x).cmp(&as_text(y)),
        },
    }
}

/// Filters, sorts and pages serialised items; returns the page and the next page token.
pub fn page(mut items: Vec<Value>, query: &ListQuery, keys: &Keys) -> ApiResult<(Vec<Value>, String)> {
    let filter = query.filter()?;
    for (key, _) in &filter {
        keys.check(key, keys.filters, "search_filter")?;
    }
    let sorts = query.sort_keys();
    for (key, _) in &sorts {
        keys.check(key, keys.sorts, "sort")?;
    }
    items.retain(|item| filter.iter().all(|(key, wanted)| keys.field(item, key).map(as_text).is_some_and(|have| have.contains(wanted.as_str()))));
    if !sorts.is_empty() {
        items.sort_by(|a, b| {
            for (key, desc) in &sorts {
                let (x, y) = (keys.field(a, key), keys.field(b, key));
                // Missing values last in either direction.
                let ord = match (x.is_none_or(Value::is_null), y.is_none_or(Value::is_null)) {
                    (false, false) if *desc => compare(y, x),
                    _ => compare(x, y),
                };
                if ord.is_ne() {
                    return ord;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let size = query.page_size()?;
    let offset = query.offset()?;
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
    let next = if offset + size < total { encode_token(offset + size) } else { String::new() };
    Ok((page, next))
}
