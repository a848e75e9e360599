//! A banner on every page: pipeline runs that failed, stopped or timed out since the signed-in
//! person last looked, with links to them. Dismissing it marks them seen (for this person only).

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::api::{unseen_failures, MarkFailuresSeen};

#[component]
pub fn FailureBanner() -> impl IntoView {
    let seen = ServerAction::<MarkFailuresSeen>::new();
    let seen_version = seen.version();
    let path = use_location().pathname;
    // Asked again on each page the person opens, and after they dismiss it.
    let failures = Resource::new(move || (path.try_get(), seen_version.try_get()), |_| unseen_failures());
    view! {
        <Transition fallback=|| ()>
            {move || failures.try_get().flatten().and_then(|r| r.ok()).filter(|f| f.count > 0).map(|f| {
                let more = f.count - f.runs.len() as i64;
                view! {
                    <div class="banner error-box" role="alert" data-test="failure-banner">
                        <strong>{format!("{} pipeline run(s) did not succeed since you last looked: ", f.count)}</strong>
                        {f.runs.into_iter().map(|r| view! {
                            <a href=format!("/runs/{}", r.id) data-test="failure-link">{format!("#{} {}", r.id, r.status)}</a>" "
                        }).collect_view()}
                        {(more > 0).then(|| view! { <a href="/history?status=failed">{format!("and {more} more")}</a> })}
                        " "<button class="link" data-test="dismiss-failures" on:click=move |_| { seen.dispatch(MarkFailuresSeen {}); }>"Dismiss"</button>
                    </div>
                }
            })}
        </Transition>
    }
}
