//! "Retry from <stage>": starts a run that ended without succeeding again from the stage that
//! did not succeed (operators). The run's page follows through its change events.

use leptos::prelude::*;

use crate::api::{RetryPipeline, Role, Stage};
use crate::components::session::may;

#[component]
pub fn RetryButton(run_id: i64, stage: Stage) -> impl IntoView {
    let retry = ServerAction::<RetryPipeline>::new();
    // Taken now: `pending()` and `value()` panic when called after a hung-up render disposed the
    // action; the signals read as `None` then.
    let (busy, value) = (retry.pending(), retry.value());
    let what = if stage == Stage::RetrainXgboost { " (on the same snapshot range)" } else { "" };
    view! {
        <Show when=may(Role::Operator)>
            <button class="primary" data-test="retry" title=format!("Run {} again{what}; the stages after it follow", stage.title())
                disabled=move || busy.try_get().unwrap_or(false)
                on:click=move |_| { retry.dispatch(RetryPipeline { id: run_id }); }>
                {format!("Retry from {}", stage.title())}
            </button>
            {move || value.try_get().flatten().and_then(|r| r.err()).map(|e| view! { <p class="error-box" data-test="retry-error">{e.to_string()}</p> })}
        </Show>
    }
}
