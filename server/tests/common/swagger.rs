//! Validates JSON bodies against Cloudera's real `swagger.json`, read from `../shared` beside the
//! repository (or `LAKELINE_CML_SWAGGER`). The whole spec is not copied into the repository; the
//! local workspace serves only the part it implements (`local-workspace/src/api/swagger.json`).

use std::path::PathBuf;

use serde_json::Value;

/// Documented keys the local workspace refuses because the documentation is plainly wrong for
/// the operation: job runs have no name, script, paused, description, type or updated_at (their
/// lists are the jobs'); registered models have no kernel, script, status or description.
pub const WRONGLY_DOCUMENTED: &[(&str, &str)] = &[
    ("/api/v2/projects/{project_id}/jobs/{job_id}/runs", "description"),
    ("/api/v2/projects/{project_id}/jobs/{job_id}/runs", "name"),
    ("/api/v2/projects/{project_id}/jobs/{job_id}/runs", "paused"),
    ("/api/v2/projects/{project_id}/jobs/{job_id}/runs", "script"),
    ("/api/v2/projects/{project_id}/jobs/{job_id}/runs", "type"),
    ("/api/v2/projects/{project_id}/jobs/{job_id}/runs", "updated_at"),
    ("/api/v2/registry/models", "description"),
    ("/api/v2/registry/models", "kernel"),
    ("/api/v2/registry/models", "script"),
    ("/api/v2/registry/models", "status"),
    // GetRegisteredModel's versions: the list is the jobs' too.
    ("/api/v2/registry/models/{model_id}", "description"),
    ("/api/v2/registry/models/{model_id}", "kernel"),
    ("/api/v2/registry/models/{model_id}", "script"),
];

pub struct Swagger {
    doc: Value,
}

impl Swagger {
    /// The spec. A missing spec fails the test with a clear message; the conformance checks are
    /// skipped (`None`) only when `LAKELINE_SKIP_SWAGGER=1` says so explicitly (CI never sets it).
    pub fn load() -> Option<Swagger> {
        let path = std::env::var_os("LAKELINE_CML_SWAGGER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/cml-api-v2/swagger.json")));
        match std::fs::read(&path) {
            Ok(bytes) => Some(Swagger { doc: serde_json::from_slice(&bytes).expect("swagger.json is JSON") }),
            Err(e) if std::env::var("LAKELINE_SKIP_SWAGGER").is_ok_and(|v| v == "1") => {
                eprintln!("SKIPPED (LAKELINE_SKIP_SWAGGER=1): CML swagger.json not found at {} ({e})", path.display());
                None
            }
            Err(e) => panic!(
                "Cloudera's swagger.json is needed to check API conformance and was not found at {} ({e}). \
                 Put ../shared beside the repository, point LAKELINE_CML_SWAGGER at the file, \
                 or set LAKELINE_SKIP_SWAGGER=1 to skip these checks knowingly.",
                path.display()
            ),
        }
    }

    /// The whole document.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The 200 response schema of an operation, e.g. (`get`, `/api/v2/projects/{project_id}/jobs`).
    pub fn response_schema(&self, method: &str, template: &str) -> &Value {
        let op = &self.doc["paths"][template][method];
        assert!(op.is_object(), "the spec has no {method} {template}");
        &op["responses"]["200"]["schema"]
    }

    /// The description of an operation's query parameter.
    pub fn parameter_description(&self, method: &str, template: &str, name: &str) -> Option<&str> {
        self.doc["paths"][template][method]["parameters"].as_array()?.iter().find(|p| p["name"] == name && p["in"] == "query")?["description"].as_str()
    }

    /// The keys an operation's documentation names for `search_filter` or `sort`: its "keys are: […]"
    /// list and the keys of its examples (`search_filter={"status":"running"}`, `sort=-updated_at`).
    pub fn documented_keys(&self, template: &str, param: &str) -> Vec<String> {
        let description = self.parameter_description("get", template, param).unwrap_or("");
        let mut keys: Vec<String> = vec![];
        if let Some(list) = description.split("keys are:").nth(1).and_then(|rest| rest.split_once('[')).and_then(|(_, r)| r.split_once(']')).map(|(list, _)| list) {
            keys.extend(list.split(|c: char| c.is_whitespace() || c == ',').map(|k| k.trim_matches('"')).filter(|k| !k.is_empty()).map(String::from));
        }
        if param == "search_filter" {
            for example in description.split("{\"").skip(1) {
                let body = example.split('}').next().unwrap_or("");
                if let Ok(object) = serde_json::from_str::<serde_json::Map<String, Value>>(&format!("{{\"{body}}}")) {
                    keys.extend(object.keys().cloned());
                }
            }
        } else {
            for example in description.split("sort=").skip(1) {
                let token = example.split_whitespace().next().unwrap_or("").trim_end_matches('.');
                keys.extend(token.split(',').map(|k| k.trim_start_matches(['+', '-'])).filter(|k| !k.is_empty() && !k.contains(':')).map(String::from));
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    pub fn definition(&self, name: &str) -> &Value {
        let def = &self.doc["definitions"][name];
        assert!(def.is_object(), "the spec has no definition {name}");
        def
    }

    /// Every way `value` departs from `schema`, as readable paths.
    pub fn check(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = vec![];
        self.walk(schema, value, "$", &mut errors);
        errors
    }

    fn walk(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.trim_start_matches("#/definitions/");
            return self.walk(self.definition(name), value, at, errors);
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                errors.push(format!("{at}: {value} is not one of {allowed:?}"));
            }
        }
        let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
        match schema.get("type").and_then(Value::as_str) {
            Some("object") | None if schema.get("properties").is_some() || schema.get("type").is_some() => {
                let Some(object) = value.as_object() else {
                    return errors.push(format!("{at}: expected an object, got {value}"));
                };
                let properties = schema.get("properties").and_then(Value::as_object);
                let open_map = schema.get("additionalProperties");
                for (key, item) in object {
                    match properties.and_then(|p| p.get(key)) {
                        Some(property) => self.walk(property, item, &format!("{at}.{key}"), errors),
                        None => match open_map {
                            Some(inner) => self.walk(inner, item, &format!("{at}.{key}"), errors),
                            None => errors.push(format!("{at}.{key}: not a field of this message in the spec")),
                        },
                    }
                }
            }
            Some("array") => {
                let Some(items) = value.as_array() else {
                    return errors.push(format!("{at}: expected an array, got {value}"));
                };
                for (i, item) in items.iter().enumerate() {
                    self.walk(&schema["items"], item, &format!("{at}[{i}]"), errors);
                }
            }
            Some("string") => match value.as_str() {
                None => errors.push(format!("{at}: expected a string ({format}), got {value}")),
                Some(s) => match format {
                    "int64" | "uint64" if s.parse::<i64>().is_err() => errors.push(format!("{at}: {s:?} is not an int64 string")),
                    "date-time" if chrono::DateTime::parse_from_rfc3339(s).is_err() || !s.ends_with('Z') => {
                        errors.push(format!("{at}: {s:?} is not an RFC 3339 UTC timestamp"))
                    }
                    _ => {}
                },
            },
            Some("integer") if !value.is_i64() => errors.push(format!("{at}: expected an integer, got {value}")),
            Some("number") if !value.is_number() => errors.push(format!("{at}: expected a number, got {value}")),
            Some("boolean") if !value.is_boolean() => errors.push(format!("{at}: expected a boolean, got {value}")),
            _ => {}
        }
    }
}
