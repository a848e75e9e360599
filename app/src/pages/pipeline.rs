use leptos::prelude::*;
use leptos_meta::Title;

/// The pipeline: its three jobs and the current (or last) pipeline run, live.
#[component]
pub fn PipelinePage() -> impl IntoView {
    view! {
        <Title text="Pipeline"/>
        <h1>"Pipeline"</h1>
        <p class="lede">
            "New Batch → Retrain XGBoost → API Redeployment. This page will start a pipeline run and "
            "show its three job runs live, each with its status, timing and log."
        </p>
        <ol class="stages">
            <li class="stage">"New Batch"</li>
            <li class="stage">"Retrain XGBoost"</li>
            <li class="stage">"API Redeployment"</li>
        </ol>
    }
}
