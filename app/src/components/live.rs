//! Live updates over server-sent events (`/api/events`): each event says which pipeline run
//! changed and how ([`Change`]). Pages keep counters of the changes they show; resources keyed on
//! a counter refetch only then, without a page reload. There is no polling.
//!
//! Resource sources and the closures inside `Transition`s read with `try_get`: on the server, a
//! page whose browser hung up is disposed while Leptos may still run them once more, and `get`
//! on a disposed value panics (seen under load as "reactive value … already disposed").

use leptos::prelude::*;

use crate::api::Change;

/// The latest change the server announced (never set on the server).
pub fn use_changes() -> RwSignal<Option<Change>> {
    let latest = RwSignal::new(None::<Change>);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        if let Ok(source) = web_sys::EventSource::new("/api/events") {
            let on_change = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                // An event the page cannot read still says that something changed.
                let change = event.data().as_string().and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_else(Change::resync);
                latest.set(Some(change));
            });
            let _ = source.add_event_listener_with_callback("changed", on_change.as_ref().unchecked_ref());
            on_change.forget();
            let source = send_wrapper::SendWrapper::new(source);
            on_cleanup(move || source.close());
        }
    }
    latest
}

/// A counter that increases on each change for which `wanted` holds.
pub fn count_changes(changes: RwSignal<Option<Change>>, wanted: impl Fn(&Change) -> bool + Send + Sync + 'static) -> RwSignal<u64> {
    let count = RwSignal::new(0u64);
    Effect::new(move |_| {
        if changes.get().is_some_and(|c| wanted(&c)) {
            count.update(|n| *n += 1);
        }
    });
    count
}
