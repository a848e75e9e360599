use leptos::prelude::*;

use crate::api::{latest_deployment, Role, TestPrediction};
use crate::components::session::may;
use crate::components::format::deployment;

const EXAMPLE: &str = r#"{"iot_signal_1": 5, "iot_signal_2": 6, "iot_signal_3": 52, "iot_signal_4": 103}"#;

/// The latest deployment and a form that sends it a test prediction.
#[component]
pub fn PredictionPanel(changes: RwSignal<u64>) -> impl IntoView {
    let latest = Resource::new(move || changes.try_get().unwrap_or_default(), |_| latest_deployment());
    let predict = ServerAction::<TestPrediction>::new();
    // Its signals, taken now: `pending()`, `value()` and `version()` panic when called after a
    // hung-up render disposed the action; the signals read as `None` then.
    let predict_busy = predict.pending();
    let predict_value = predict.value();
    let request = RwSignal::new(EXAMPLE.to_string());
    view! {
        <section class="panel" data-test="deployment-panel">
            <h2>"Latest deployment"</h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || latest.try_get().flatten().map(|d| match d {
                    Ok(Some(d)) => view! {
                        <p>
                            <strong>{d.model_name.clone()}</strong>
                            {d.version.map(|v| format!(" · version {v}")).unwrap_or_default()}
                            " · deployment " <span class="mono">{d.deployment_id.clone()}</span> " · "
                            <span class=format!("status {}", deployment(d.state)) data-test="deployment-status">{deployment(d.state)}</span>
                            {d.pipeline_run_id.map(|id| view! { " · from " <a href=format!("/runs/{id}") data-test="live-run">{format!("pipeline run {id}")}</a> })}
                        </p>
                    }.into_any(),
                    Ok(None) => view! { <p class="empty">"No pipeline run has deployed a model yet."</p> }.into_any(),
                    Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
            <Transition fallback=|| ()>
            <Show when=may(Role::Operator)>
            <form class="prediction" on:submit=move |ev| {
                ev.prevent_default();
                predict.dispatch(TestPrediction { request: request.get_untracked() });
            }>
                <label for="prediction-request">"Request (the model's input, as JSON)"</label>
                <textarea id="prediction-request" rows="3" data-test="prediction-request"
                    prop:value=move || request.try_get().unwrap_or_default()
                    on:input=move |ev| request.set(event_target_value(&ev))></textarea>
                <button type="submit" data-test="predict" disabled=move || predict_busy.try_get().unwrap_or(false)>"Send test prediction"</button>
            </form>
            </Show>
            </Transition>
            {move || predict_value.try_get().flatten().map(|r| match r {
                Ok(answer) => view! { <pre class="prediction-answer" data-test="prediction-answer">{answer}</pre> }.into_any(),
                Err(e) => view! { <p class="error-box" data-test="prediction-error">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}
