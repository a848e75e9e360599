//! MLflow's search grammar, the subset runs/search and logged-models/search take:
//! `attribute.status = 'FINISHED'`, `tags.x = 'y'`, `params.p != 'q'`, `name LIKE '%x%'`, joined by AND.

use super::error::{MlflowError, Result};
use crate::tracking::FullRun;

pub(super) struct Clause {
    pub field: String,
    pub op: String,
    pub value: String,
}

pub(super) fn parse_filter(filter: &str) -> Result<Vec<Clause>> {
    let mut clauses = vec![];
    for part in split_and(filter) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let op = ["!=", "=", "LIKE"].into_iter().find(|op| part.contains(op)).ok_or_else(|| MlflowError::invalid(format!("unsupported filter clause {part:?}")))?;
        let (field, value) = part.split_once(op).expect("contains op");
        let value = value.trim();
        let value = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"'))).unwrap_or(value);
        clauses.push(Clause { field: field.trim().trim_matches('`').to_string(), op: op.to_string(), value: value.to_string() });
    }
    Ok(clauses)
}

fn split_and(filter: &str) -> Vec<String> {
    let mut parts = vec![];
    let mut rest = filter;
    loop {
        let lower = rest.to_lowercase();
        match lower.find(" and ") {
            Some(i) => {
                parts.push(rest[..i].to_string());
                rest = &rest[i + 5..];
            }
            None => {
                parts.push(rest.to_string());
                return parts;
            }
        }
    }
}

pub(super) fn clause_matches(c: &Clause, full: &FullRun) -> Result<bool> {
    let field = c.field.trim_start_matches("attributes.").trim_start_matches("attribute.");
    let have: Option<String> = if let Some(key) = field.strip_prefix("tags.").or_else(|| field.strip_prefix("tag.")) {
        full.tags.iter().find(|(k, _)| k == key.trim_matches('`')).map(|(_, v)| v.clone())
    } else if let Some(key) = field.strip_prefix("params.").or_else(|| field.strip_prefix("param.")) {
        full.params.iter().find(|(k, _)| k == key.trim_matches('`')).map(|(_, v)| v.clone())
    } else if let Some(key) = field.strip_prefix("metrics.").or_else(|| field.strip_prefix("metric.")) {
        full.metrics.iter().find(|m| m.key == key.trim_matches('`')).map(|m| m.value.to_string())
    } else {
        match field {
            "status" => Some(full.run.status.clone()),
            "run_name" => Some(full.run.name.clone()),
            "run_id" => Some(full.run.id.clone()),
            "user_id" => Some(full.run.user_id.clone()),
            other => return Err(MlflowError::invalid(format!("filtering on {other:?} is not supported here"))),
        }
    };
    Ok(match c.op.as_str() {
        "=" => have.as_deref() == Some(c.value.as_str()),
        "!=" => have.as_deref() != Some(c.value.as_str()),
        _ => {
            let needle = c.value.trim_matches('%');
            have.is_some_and(|h| h.contains(needle))
        }
    })
}

