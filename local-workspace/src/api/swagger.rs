//! `GET /api/v2/swagger.json`: the part of Cloudera's API v2 document that this workspace answers.
//!
//! As on a real workspace it is served without a key. The file is Cloudera's own `swagger.json`
//! (26.06.13) cut down to the operations routed here and the definitions they reference; the test
//! `swagger_json_lists_exactly_the_operations_this_workspace_answers` derives that cut again from
//! Cloudera's document and from what the routes answer, and fails when the file no longer matches.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

const DOCUMENT: &str = include_str!("swagger.json");

pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}
