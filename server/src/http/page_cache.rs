//! Rendered pages kept for reuse, for the pages that show only Lakeline's own data (History, a
//! run's page, Data, Compare).
//!
//! Rendering a History page costs about a millisecond of CPU and compressing it more; with 50
//! people on History at once the 2-core reference machine queued them for 100 ms. A page is
//! rendered again only when what it shows may have changed: it is kept per person (their name
//! and role), address and [`PageData::version`] — a number the database moves on every write to
//! runs, stages, notes, users or settings, whoever writes (any replica) — and not kept at all
//! while a chain runs (its durations grow without writes). Each kept page is compressed once per
//! encoding a browser asks for.
//!
//! A kept page cannot carry a per-response nonce, so its Content-Security-Policy allows its
//! inline scripts by their SHA-256 hashes instead: nothing but exactly those scripts runs, and
//! nothing about the policy repeats between responses that an attacker could learn.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use app::api::Role;
use app::backend::Caller;

use super::AppState;
use crate::store::page_data::PageData;

/// The routes whose pages read only Lakeline's store (no workspace, no tracker memory).
const CACHED_ROUTES: &[&str] = &["/history", "/runs/{id}", "/data", "/compare"];
/// Kept pages, in all encodings, take at most this much memory; the least recently used go first.
const BUDGET_BYTES: usize = 24 * 1024 * 1024;
/// Pages are read whole before they are kept; none of Lakeline's comes near this (History is 60 KB, a
/// run's log tails 16 KB each): reading stops there and the request is answered 500.
const LARGEST_PAGE: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    user: String,
    role: Role,
    /// Path and query, as asked.
    uri: String,
}

/// How a browser takes a page: the first of brotli and gzip it accepts, else as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    fn accepted(headers: &HeaderMap) -> Encoding {
        let accepts = |name: &str| {
            headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|part| {
                let mut parts = part.split(';');
                let coding = parts.next().unwrap_or("").trim();
                let quality = parts.find_map(|p| p.trim().strip_prefix("q=")).map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
                coding.eq_ignore_ascii_case(name) && quality > 0.0
            })
        };
        if accepts("br") {
            Encoding::Brotli
        } else if accepts("gzip") {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }
}

/// One rendered page: its headers (with the hash-based policy), its body, and the body
/// compressed for each encoding once a browser asked for it.
struct Entry {
    version: i64,
    headers: HeaderMap,
    html: Bytes,
    brotli: OnceLock<Bytes>,
    gzip: OnceLock<Bytes>,
    last_used: AtomicU64,
}

impl Entry {
    fn size(&self) -> usize {
        self.html.len() + self.brotli.get().map_or(0, Bytes::len) + self.gzip.get().map_or(0, Bytes::len)
    }

    fn body(&self, encoding: Encoding) -> Bytes {
        match encoding {
            Encoding::Identity => self.html.clone(),
            Encoding::Gzip => self.gzip.get_or_init(|| compress_gzip(&self.html)).clone(),
            Encoding::Brotli => self.brotli.get_or_init(|| compress_brotli(&self.html)).clone(),
        }
    }

    fn response(&self, encoding: Encoding) -> Response {
        let body = self.body(encoding);
        let mut response = Response::new(Body::from(body.clone()));
        *response.headers_mut() = self.headers.clone();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        match encoding {
            Encoding::Brotli => drop(headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"))),
            Encoding::Gzip => drop(headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))),
            Encoding::Identity => {}
        }
        response
    }
}

fn compress_gzip(html: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(html.len() / 4), flate2::Compression::new(6));
    encoder.write_all(html).expect("writing to memory");
    Bytes::from(encoder.finish().expect("writing to memory"))
}

fn compress_brotli(html: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(html.len() / 4);
    {
        let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        encoder.write_all(html).expect("writing to memory");
    }
    Bytes::from(out)
}

/// The kept pages.
#[derive(Default)]
pub struct PageCache {
    entries: Mutex<HashMap<Key, Arc<Entry>>>,
    clock: AtomicU64,
}

impl PageCache {
    fn get(&self, key: &Key, version: i64) -> Option<Arc<Entry>> {
        let entry = self.entries.lock().expect("page cache lock").get(key).filter(|e| e.version == version).cloned()?;
        entry.last_used.store(self.clock.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        Some(entry)
    }

    fn insert(&self, key: Key, entry: Entry) -> Arc<Entry> {
        let entry = Arc::new(entry);
        entry.last_used.store(self.clock.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        let mut entries = self.entries.lock().expect("page cache lock");
        // Pages of data that has changed since are of no more use.
        entries.retain(|_, e| e.version >= entry.version);
        entries.insert(key, entry.clone());
        let mut size: usize = entries.values().map(|e| e.size()).sum();
        while size > BUDGET_BYTES && entries.len() > 1 {
            let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.last_used.load(Ordering::Relaxed)).map(|(k, _)| k.clone()) else { break };
            size -= entries.remove(&oldest).map_or(0, |e| e.size());
        }
        entry
    }
}

/// Middleware (a route layer, so that the matched route is known): answers a cached route's GET
/// from a kept page while the data it shows has not changed; otherwise renders it and keeps it.
pub async fn serve(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str());
    let cached_route = request.method() == Method::GET && route.is_some_and(|r| CACHED_ROUTES.contains(&r));
    let user = request.extensions().get::<Caller>().and_then(|c| c.user.clone());
    let (true, Some(user)) = (cached_route, user) else { return next.run(request).await };
    let data = match state.backend.store.page_data().await {
        Ok(PageData { running: false, version }) => version,
        Ok(_) => {
            state.metrics.page_cache_outcome("skipped");
            return next.run(request).await;
        }
        Err(e) => {
            tracing::warn!(error = %e, "the page cache could not read the data's version; rendering");
            return next.run(request).await;
        }
    };
    let key = Key { user: user.name, role: user.role, uri: request.uri().to_string() };
    let encoding = Encoding::accepted(request.headers());
    let cache = &state.page_cache;
    if let Some(entry) = cache.get(&key, data) {
        state.metrics.page_cache_outcome("hit");
        return entry.response(encoding);
    }
    let response = next.run(request).await;
    match keepable(response, data).await {
        Kept::Entry(entry) => {
            state.metrics.page_cache_outcome("miss");
            cache.insert(key, entry).response(encoding)
        }
        Kept::Not(response) => response,
    }
}

enum Kept {
    Entry(Entry),
    Not(Response),
}

/// A rendered page as an entry: only a complete 200 HTML page that sets no cookie is kept.
async fn keepable(response: Response, version: i64) -> Kept {
    let html = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"));
    let plain = !response.headers().contains_key(header::SET_COOKIE) && !response.headers().contains_key(header::CONTENT_ENCODING);
    if response.status() != StatusCode::OK || !html || !plain {
        return Kept::Not(response);
    }
    let (mut parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, LARGEST_PAGE).await {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "a page could not be rendered whole");
            return Kept::Not((StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered; see Lakeline's log\n").into_response());
        }
    };
    if let Some(policy) = parts.headers.get(header::CONTENT_SECURITY_POLICY) {
        let hashed = policy.to_str().ok().and_then(|p| HeaderValue::from_str(&with_script_hashes(p, &body)).ok());
        match hashed {
            Some(hashed) => drop(parts.headers.insert(header::CONTENT_SECURITY_POLICY, hashed)),
            // Not a policy this module can rewrite: the page goes out as rendered, not kept.
            None => return Kept::Not(Response::from_parts(parts, Body::from(body))),
        }
    }
    let mut headers = parts.headers;
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::TRANSFER_ENCODING);
    Kept::Entry(Entry { version, headers, html: body, brotli: OnceLock::new(), gzip: OnceLock::new(), last_used: AtomicU64::new(0) })
}

/// The policy with its `'nonce-…'` source replaced by the hashes of the page's inline scripts.
fn with_script_hashes(policy: &str, html: &[u8]) -> String {
    let hashes: Vec<String> = inline_scripts(html)
        .map(|script| format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script))))
        .collect();
    policy
        .split(' ')
        .map(|source| if source.starts_with("'nonce-") { hashes.join(" ") } else { source.to_string() })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of each `<script>` element that has no `src` (what a browser hashes).
fn inline_scripts(html: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = html;
    std::iter::from_fn(move || loop {
        let start = find(rest, b"<script")?;
        let after_tag = start + find(&rest[start..], b">")? + 1;
        let tag = &rest[start..after_tag];
        let end = after_tag + find(&rest[after_tag..], b"</script>")?;
        let text = &rest[after_tag..end];
        rest = &rest[end..];
        if find(tag, b" src=").is_none() {
            return Some(text);
        }
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nonce_gives_way_to_the_hashes_of_exactly_the_inline_scripts() {
        let html = br#"<html><head><script type="module" nonce="abc">import('/pkg/x.js')</script><script src="/pkg/y.js"></script></head><body><script>__DATA=[1]</script></body></html>"#;
        let scripts: Vec<&[u8]> = inline_scripts(html).collect();
        assert_eq!(scripts, [&b"import('/pkg/x.js')"[..], &b"__DATA=[1]"[..]]);
        let policy = with_script_hashes("default-src 'self'; script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'; style-src 'self'", html);
        let hash = |s: &[u8]| format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s)));
        assert_eq!(
            policy,
            format!("default-src 'self'; script-src 'self' {} {} 'wasm-unsafe-eval'; style-src 'self'", hash(b"import('/pkg/x.js')"), hash(b"__DATA=[1]"))
        );
        assert!(!policy.contains("nonce"));
    }

    #[test]
    fn browsers_get_brotli_then_gzip_then_the_page_as_it_is() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
            Encoding::accepted(&headers)
        };
        assert_eq!(with("gzip, deflate, br, zstd"), Encoding::Brotli);
        assert_eq!(with("gzip, br;q=0"), Encoding::Gzip);
        assert_eq!(with("GZIP"), Encoding::Gzip);
        assert_eq!(with("deflate"), Encoding::Identity);
        assert_eq!(Encoding::accepted(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn kept_pages_stay_within_their_budget_and_changed_data_drops_the_old() {
        let cache = PageCache::default();
        let key = |uri: &str| Key { user: "ana".into(), role: Role::Viewer, uri: uri.into() };
        let entry = |version, size| Entry {
            version,
            headers: HeaderMap::new(),
            html: Bytes::from(vec![b'x'; size]),
            brotli: OnceLock::new(),
            gzip: OnceLock::new(),
            last_used: AtomicU64::new(0),
        };
        cache.insert(key("/a"), entry(1, BUDGET_BYTES / 2));
        cache.insert(key("/b"), entry(1, BUDGET_BYTES / 3));
        assert!(cache.get(&key("/a"), 1).is_some(), "/a used last");
        cache.insert(key("/c"), entry(1, BUDGET_BYTES / 3));
        assert!(cache.get(&key("/a"), 1).is_some());
        assert!(cache.get(&key("/b"), 1).is_none(), "the least recently used went");
        assert!(cache.get(&key("/a"), 2).is_none(), "a page of older data is not served");
        cache.insert(key("/d"), entry(2, 10));
        assert_eq!(cache.entries.lock().unwrap().len(), 1, "pages of older data are dropped");
    }
}
