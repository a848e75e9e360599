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
///
/// A hidden tab closes its stream and opens it again when shown: a browser keeps at most six
/// connections to one HTTP/1.1 server, and each open stream holds one, so a seventh tab would
/// otherwise wait forever. A stream opens with a resync, so a tab shown again refetches what it
/// shows and misses nothing.
pub fn use_changes() -> RwSignal<Option<Change>> {
    let latest = RwSignal::new(None::<Change>);
    #[cfg(feature = "hydrate")]
    {
        use std::cell::RefCell;
        use std::rc::Rc;
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;

        let on_change = Rc::new(Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            // An event the page cannot read still says that something changed.
            let change = event.data().as_string().and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_else(Change::resync);
            latest.set(Some(change));
        }));
        let source: Rc<RefCell<Option<web_sys::EventSource>>> = Rc::default();
        let connect = {
            let (source, on_change) = (source.clone(), on_change.clone());
            move || {
                if source.borrow().is_some() {
                    return;
                }
                if let Ok(opened) = web_sys::EventSource::new("/api/events") {
                    let _ = opened.add_event_listener_with_callback("changed", (*on_change).as_ref().unchecked_ref());
                    *source.borrow_mut() = Some(opened);
                }
            }
        };
        let disconnect = {
            let source = source.clone();
            move || {
                if let Some(open) = source.borrow_mut().take() {
                    open.close();
                }
            }
        };
        let document = web_sys::window().and_then(|w| w.document());
        if document.as_ref().is_none_or(|d| !d.hidden()) {
            connect();
        }
        let on_visibility = document.as_ref().map(|document| {
            let (shown, disconnect) = (document.clone(), disconnect.clone());
            let on_visibility = Closure::<dyn FnMut()>::new(move || if shown.hidden() { disconnect() } else { connect() });
            let _ = document.add_event_listener_with_callback("visibilitychange", on_visibility.as_ref().unchecked_ref());
            on_visibility
        });
        let kept = send_wrapper::SendWrapper::new((document, on_visibility, on_change, disconnect));
        on_cleanup(move || {
            let (document, on_visibility, _on_change, disconnect) = kept.take();
            if let (Some(document), Some(on_visibility)) = (document, on_visibility) {
                let _ = document.remove_event_listener_with_callback("visibilitychange", on_visibility.as_ref().unchecked_ref());
            }
            disconnect();
        });
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
