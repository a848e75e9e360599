//! `GET /api/events`: server-sent events telling browsers which pipeline run changed and how
//! ([`domain::Change`]), as the tracker sees it. Streams read nothing but the tracker's channel,
//! so a page that stays open costs the workspace nothing.
//!
//! Each stream opens with a resync: a page rendered a moment before its stream connected (or a
//! browser reconnecting after a dropped connection) missed whatever changed in between, so it
//! refetches what it shows once — from Lakeline's store, not the workspace.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::AppState;

pub async fn events(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.backend.tracker.subscribe();
    // Counted as open until the stream is dropped (the browser went away, or shutdown).
    let open = state.metrics.live_connection();
    let changes = stream::unfold((receiver, state.closing, open), |(mut receiver, mut closing, open)| async move {
        loop {
            let next = tokio::select! {
                next = receiver.recv() => next,
                // Shutting down: end the stream so that graceful shutdown can finish.
                _ = closing.wait_for(|closing| *closing) => return None,
            };
            match next {
                Ok(changed) => {
                    let event = Event::default().event("changed").json_data(changed).unwrap_or_default();
                    return Some((Ok(event), (receiver, closing, open)));
                }
                // Too far behind: tell the browser to refresh whatever it shows.
                Err(RecvError::Lagged(_)) => return Some((Ok(resync()), (receiver, closing, open))),
                Err(RecvError::Closed) => return None,
            }
        }
    });
    let stream = stream::once(async { Ok(resync()) }).chain(changes);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// "Refetch whatever you show": what was missed is not known.
fn resync() -> Event {
    Event::default().event("changed").json_data(domain::Change::resync()).unwrap_or_default()
}
