//! Live updates: a counter that ticks whenever the server says a pipeline run changed (server-sent
//! events from `/api/events`). Resources keyed on it refetch without a page reload.

use leptos::prelude::*;

/// A signal that increases on every change event (and never on the server).
pub fn use_changes() -> RwSignal<u64> {
    let ticks = RwSignal::new(0u64);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        if let Ok(source) = web_sys::EventSource::new("/api/events") {
            let on_change = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| ticks.update(|n| *n += 1));
            let _ = source.add_event_listener_with_callback("changed", on_change.as_ref().unchecked_ref());
            on_change.forget();
            let source = send_wrapper::SendWrapper::new(source);
            on_cleanup(move || source.close());
        }
    }
    ticks
}

/// A signal that increases every `millis` while `when` is true (browser only).
pub fn use_ticker(millis: u32, when: Signal<bool>) -> RwSignal<u64> {
    let ticks = RwSignal::new(0u64);
    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if when.get_untracked() {
                    ticks.update(|n| *n += 1)
                }
            },
            std::time::Duration::from_millis(millis as u64),
        ) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (millis, when);
    ticks
}
