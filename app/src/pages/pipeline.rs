use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{current_pipeline_run, quality_series, Role, Stage, StopPipeline, TriggerPipeline};
use crate::components::format::{duration, ratio, snapshot_range, when, who};
use crate::components::live::{count_changes, use_changes};
use crate::components::prediction::PredictionPanel;
use crate::components::quality_chart::QualityChart;
use crate::components::retry::RetryButton;
use crate::components::session::may;
use crate::components::stage_card::StageCard;

/// The pipeline: Run pipeline, and the current (or last) pipeline run's three stages, live.
#[component]
pub fn PipelinePage() -> impl IntoView {
    let changes = use_changes();
    let running = RwSignal::new(false);
    // Every change may concern the newest run (its stages, status, log tails, lineage).
    let any_change = count_changes(changes, |_| true);
    let model_changes = count_changes(changes, |c| c.touches_models());
    let trigger = ServerAction::<TriggerPipeline>::new();
    // Its signals, taken now: `pending()`, `value()` and `version()` panic when called after a
    // hung-up render disposed the action; the signals read as `None` then.
    let trigger_busy = trigger.pending();
    let trigger_value = trigger.value();
    let trigger_version = trigger.version();
    let stop = ServerAction::<StopPipeline>::new();
    let stop_value = stop.value();
    let stop_version = stop.version();
    let current = Resource::new(
        move || (any_change.try_get().unwrap_or_default(), trigger_version.try_get().unwrap_or_default(), stop_version.try_get().unwrap_or_default()),
        |_| current_pipeline_run(),
    );
    let quality = Resource::new(move || model_changes.try_get().unwrap_or_default(), |_| quality_series());
    let operator = may(Role::Operator);
    let confirming = RwSignal::new(false);
    let arguments = RwSignal::new(String::new());
    let environment = RwSignal::new(String::new());

    Effect::new(move |_| {
        let is_running = current.try_get().flatten().and_then(|r| r.ok()).flatten().is_some_and(|d| d.run.status.is_active());
        running.set(is_running);
    });

    view! {
        <Title text="Pipeline"/>
        <div class="page-head">
            <h1>"Pipeline"</h1>
            <Transition fallback=|| ()>
                <Show when=operator>
                    <button class="primary" data-test="run-pipeline" on:click=move |_| confirming.set(true)
                        disabled=move || trigger_busy.try_get().unwrap_or(false) || running.try_get().unwrap_or(false)>
                        "Run pipeline"
                    </button>
                </Show>
            </Transition>
        </div>
        <p class="lede">"New Batch → Retrain XGBoost → API Redeployment. Each stage starts when the one before it succeeds."</p>
        <Show when=move || confirming.get()>
            <form class="confirm panel" data-test="confirm-run" on:submit=move |ev| {
                ev.prevent_default();
                confirming.set(false);
                trigger.dispatch(TriggerPipeline { arguments: arguments.get_untracked(), environment: environment.get_untracked() });
            }>
                <p><strong>"Start a pipeline run?"</strong>" New Batch appends a new batch to the table; the retrain and the redeployment follow."</p>
                <label for="run-arguments">"Arguments for New Batch (optional)"</label>
                <input id="run-arguments" prop:value=move || arguments.get() on:input=move |ev| arguments.set(event_target_value(&ev))/>
                <label for="run-environment">"Environment, one KEY=VALUE per line (optional)"</label>
                <textarea id="run-environment" rows="2" prop:value=move || environment.get() on:input=move |ev| environment.set(event_target_value(&ev))></textarea>
                <div class="buttons">
                    <button type="submit" class="primary" data-test="confirm-run-yes">"Start"</button>
                    <button type="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                </div>
            </form>
        </Show>
        {move || trigger_value.try_get().flatten().and_then(|r| r.err()).map(|e| view! { <p class="error-box" data-test="trigger-error">{e.to_string()}</p> })}
        {move || stop_value.try_get().flatten().and_then(|r| r.err()).map(|e| view! { <p class="error-box">{e.to_string()}</p> })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || current.try_get().flatten().map(|result| match result {
                Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                Ok(None) => view! {
                    <p class="empty" data-test="no-runs">"No pipeline run yet. Set up the jobs in Settings, then click Run pipeline."</p>
                }.into_any(),
                Ok(Some(detail)) => {
                    let run = detail.run.clone();
                    let id = run.id;
                    let stages = Stage::ALL.iter().map(|&stage| {
                        let view_ = run.stages.iter().find(|s| s.stage == stage).cloned();
                        let log = detail.logs.iter().rev().find(|l| l.stage == stage).cloned(); // the latest attempt's
                        view! { <StageCard stage=stage view=view_ log=log/> }
                    }).collect_view();
                    view! {
                        <section class="current-run" data-test="current-run">
                            <h2>
                                <a href=format!("/runs/{id}")>{format!("Pipeline run {id}")}</a>
                                " " <span class=format!("status {}", run.status) data-test="run-status">{run.status.as_str()}</span>
                            </h2>
                            <p class="meta">
                                {format!("Started {} by {} · {}", when(&run.created_at), who(&run.triggered_by, run.source), duration(run.duration_seconds))}
                                {format!(" · snapshot {} · accuracy {} · recall {}", snapshot_range(&run.parent_snapshot_id, &run.snapshot_id), ratio(run.accuracy), ratio(run.recall))}
                            </p>
                            <Show when=move || run.status.is_active() && operator()>
                                <button data-test="stop-pipeline" on:click=move |_| { stop.dispatch(StopPipeline { id }); }>"Stop"</button>
                            </Show>
                            {run.retry_from.map(|stage| view! { <RetryButton run_id=id stage=stage/> })}
                            <div class="stages">{stages}</div>
                        </section>
                    }.into_any()
                }
            })}
        </Transition>
        <section class="panel">
            <h2>"Model quality"</h2>
            <Transition fallback=|| ()>
                {move || quality.try_get().flatten().map(|q| match q {
                    Ok(series) => view! { <QualityChart series=series/> }.into_any(),
                    Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </section>
        <PredictionPanel changes=model_changes/>
    }
}
