use leptos::prelude::*;

use crate::api::ServerStatus;

/// A button that asks the server how it is. It only works once the page has hydrated, which is
/// what the browser test relies on.
#[component]
pub fn ServerCheck() -> impl IntoView {
    let check = ServerAction::<crate::api::GetServerStatus>::new();
    // Its signals, taken now: `pending()`, `value()` and `version()` panic when called after a
    // hung-up render disposed the action; the signals read as `None` then.
    let check_busy = check.pending();
    let check_value = check.value();
    let result = move || {
        check_value.try_get().flatten().map(|outcome| match outcome {
            Ok(ServerStatus { version, uptime_seconds, workspace, .. }) => view! {
                <span class="server-check ok" data-test="server-check-result">
                    {format!("Lakeline {version} · up {uptime_seconds}s · {workspace}")}
                </span>
            }
            .into_any(),
            Err(e) => view! {
                <span class="server-check error" data-test="server-check-result">{e.to_string()}</span>
            }
            .into_any(),
        })
    };
    view! {
        <div class="server-check-box">
            <button
                type="button"
                data-test="server-check"
                disabled=move || check_busy.try_get().unwrap_or(false)
                on:click=move |_| {
                    check.dispatch(crate::api::GetServerStatus {});
                }
            >
                "Check server"
            </button>
            {result}
        </div>
    }
}
