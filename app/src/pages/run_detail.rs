use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{get_pipeline_run, latest_deployment, AddNote, DeployModel, DeploymentState, KeyValue, NoteView, Role, Stage};
use crate::components::format::{deployment, duration, when, when_opt, who};
use crate::components::live::{count_changes, use_changes};
use crate::components::quality_gate::QualityGatePanel;
use crate::components::retry::RetryButton;
use crate::components::session::may;

fn table(rows: Vec<KeyValue>, test: &'static str) -> impl IntoView {
    view! {
        <table class="kv" data-test=test>
            <tbody>
                {rows.into_iter().map(|kv| view! { <tr><th>{kv.key}</th><td class="mono">{kv.value}</td></tr> }).collect_view()}
            </tbody>
        </table>
    }
}

fn or_dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "—".into())
}

/// One pipeline run: its lineage as one chain of links, its stage timeline and its logs.
#[component]
pub fn RunDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.try_get().unwrap_or_default().get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let changes = count_changes(use_changes(), move |c| c.concerns(Some(id())));
    let detail = Resource::new(move || (id(), changes.try_get().unwrap_or_default()), |(id, _)| get_pipeline_run(id));
    view! {
        <Title text=move || format!("Pipeline run {}", id())/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || detail.try_get().flatten().map(|result| match result {
                Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                Ok(d) => {
                    let run = d.run.clone();
                    let l = d.lineage.clone();
                    // Stages attempted more than once: their logs open, each named by attempt.
                    let retried: Vec<Stage> = d.attempts.iter().filter(|a| a.attempt > 1).map(|a| a.stage).collect();
                    let row_count = l.row_count.clone().map(|raw| match raw.trim().parse::<i64>() {
                        Ok(n) => n.to_string(),
                        Err(_) => format!("{raw} (not a number; shown as logged)"),
                    });
                    view! {
                        <h1>{format!("Pipeline run {}", run.id)} " " <span class=format!("status {}", run.status) data-test="run-status">{run.status.as_str()}</span></h1>
                        <p class="meta">{format!("Started {} by {} · {}", when(&run.created_at), who(&run.triggered_by, run.source), duration(run.duration_seconds))}</p>
                        {run.retry_from.map(|stage| view! { <RetryButton run_id=run.id stage=stage/> })}
                        <h2>"Lineage"</h2>
                        <ol class="lineage" data-test="lineage">
                            <li data-test="lineage-snapshot">
                                <h3>"Data snapshot"</h3>
                                <p class="mono">{format!("{} → {}", l.parent_snapshot_id.clone().unwrap_or_else(|| "(table start)".into()), or_dash(&l.snapshot_id))}</p>
                                <p>{format!("committed {} · {} rows added · {}", or_dash(&l.snapshot_committed_at), l.rows_added.map(|n| n.to_string()).unwrap_or_else(|| "—".into()), or_dash(&l.table))}</p>
                            </li>
                            <li data-test="lineage-experiment-run">
                                <h3>"Experiment run"</h3>
                                <p class="mono">{format!("{} in experiment {}", or_dash(&l.experiment_run_id), or_dash(&l.experiment_id))}</p>
                                <p>{format!("row_count: {}", row_count.unwrap_or_else(|| "—".into()))}</p>
                                <div class="kv-grid">
                                    <div><h4>"Metrics"</h4>{table(l.metrics.clone(), "metrics")}</div>
                                    <div><h4>"Params"</h4>{table(l.params.clone(), "params")}</div>
                                    <div><h4>"Tags"</h4>{table(l.tags.clone(), "tags")}</div>
                                </div>
                            </li>
                            <li data-test="lineage-gate">
                                <h3>"Quality gate"</h3>
                                <QualityGatePanel run_id=run.id gate=run.gate.clone() run_active=run.status.is_active()/>
                            </li>
                            <li data-test="lineage-model-version">
                                <h3>"Registered model version"</h3>
                                <p>{format!("{} version {} ({})", or_dash(&l.registered_model_name), l.model_version_number.map(|n| n.to_string()).unwrap_or_else(|| "—".into()), or_dash(&l.model_version_id))}</p>
                                <p class="mono">{format!("registered from experiment run {}", or_dash(&l.model_version_run_id))}</p>
                            </li>
                            <li data-test="lineage-build">
                                <h3>"Model build"</h3>
                                <p>{format!("{} · build {} · {}", or_dash(&l.model_name), or_dash(&l.build_id), or_dash(&l.build_status))}</p>
                                <p class="mono">{format!("built from version {}", or_dash(&l.build_version_id))}</p>
                            </li>
                            <li data-test="lineage-deployment">
                                <h3>"Deployment"</h3>
                                <p>{format!("deployment {} · ", or_dash(&l.deployment_id))}<span class="status" data-test="lineage-deployment-status">{deployment(l.deployment)}</span></p>
                                {(l.build_id.is_some() && l.deployment != Some(DeploymentState::Deployed) && !run.status.is_active())
                                    .then(|| view! { <Redeploy run_id=run.id version=l.model_version_number/> })}
                            </li>
                        </ol>
                        {(!l.problems.is_empty()).then(|| view! {
                            <div class="error-box"><p>"Parts of the lineage could not be read:"</p>
                                <ul>{l.problems.iter().map(|p| view! { <li>{p.clone()}</li> }).collect_view()}</ul></div>
                        })}
                        <h2>"Timeline"</h2>
                        <table class="timeline" data-test="timeline">
                            <thead><tr><th>"Stage"</th><th>"Attempt"</th><th>"Job run"</th><th>"Status"</th><th>"Created"</th><th>"Running"</th><th>"Finished"</th><th>"Duration"</th></tr></thead>
                            <tbody>
                                {d.attempts.iter().map(|s| view! {
                                    <tr data-test="attempt" data-stage=s.stage.as_str() data-attempt=s.attempt>
                                        <td>{s.stage.title()}</td><td>{s.attempt}</td><td class="mono">{s.run_id.clone()}</td>
                                        <td><span class=format!("status {}", s.state.word())>{s.state.word()}</span></td>
                                        <td>{when_opt(&s.created_at)}</td><td>{when_opt(&s.running_at)}</td><td>{when_opt(&s.finished_at)}</td>
                                        <td>{duration(s.duration_seconds)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Notes run_id=run.id notes=d.notes.clone()/>
                        <h2>"Logs"</h2>
                        {d.logs.into_iter().map(|log| {
                            let retried = retried.contains(&log.stage);
                            let title = if retried { format!("{}, attempt {}", log.stage.title(), log.attempt) } else { log.stage.title().to_string() };
                            view! {
                                <details class="log" data-test="log" data-stage=log.stage.as_str() data-attempt=log.attempt open=log.stage == Stage::NewBatch || retried>
                                    <summary>{format!("{title} — job run {} — {}", log.job_run_id, log.path)}</summary>
                                    <pre>{log.text}</pre>
                                </details>
                            }
                        }).collect_view()}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// The run's notes, oldest first, and (for operators) a form to add one. A new note comes back
/// as a change event, which refetches the run.
#[component]
fn Notes(run_id: i64, notes: Vec<NoteView>) -> impl IntoView {
    let add = ServerAction::<AddNote>::new();
    // Its signals, taken now: `pending()`, `value()` and `version()` panic when called after a
    // hung-up render disposed the action; the signals read as `None` then.
    let add_busy = add.pending();
    let add_value = add.value();
    let text = RwSignal::new(String::new());
    let operator = may(Role::Operator);
    Effect::new(move |_| {
        if add_value.try_get().flatten().is_some_and(|r| r.is_ok()) {
            text.set(String::new());
        }
    });
    view! {
        <h2>"Notes"</h2>
        {if notes.is_empty() {
            view! { <p class="empty" data-test="no-notes">"No notes yet."</p> }.into_any()
        } else {
            view! {
                <ul class="notes" data-test="notes">
                    {notes.into_iter().map(|n| view! {
                        <li data-test="note"><p class="meta">{format!("{} · {}", n.author, when(&n.at))}</p><p class="note-text">{n.text}</p></li>
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
        <Show when=operator>
            <form class="note-form" data-test="add-note" on:submit=move |ev| {
                ev.prevent_default();
                add.dispatch(AddNote { id: run_id, text: text.get_untracked() });
            }>
                <label for="note-text">"Add a note"</label>
                <textarea id="note-text" rows="3" placeholder="What you found, what you decided" prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                <button type="submit" data-test="add-note-submit" disabled=move || add_busy.try_get().unwrap_or(false)>"Add note"</button>
            </form>
            {move || add_value.try_get().flatten().and_then(|r| r.err()).map(|e| view! { <p class="error-box" data-test="note-error">{e.to_string()}</p> })}
        </Show>
    }
}

/// "Deploy this model": puts this run's build back as the live deployment (a rollback), after a
/// confirmation that names its model version and what is live now.
#[component]
fn Redeploy(run_id: i64, version: Option<i64>) -> impl IntoView {
    let deploy = ServerAction::<DeployModel>::new();
    // Actions' signals, taken now: `pending()`, `value()` and `version()` panic when called after a
    // hung-up render disposed the actions; the signals read as `None` then.
    let (deploy_busy, deploy_value) = (deploy.pending(), deploy.value());
    let operator = may(Role::Operator);
    let asking = RwSignal::new(false);
    let live = Resource::new(move || asking.get(), |_| latest_deployment());
    let this = move || version.map_or("this run's model".to_string(), |v| format!("model version {v}"));
    view! {
        <Show when=operator>
            <button data-test="redeploy" on:click=move |_| asking.set(true)>"Deploy this model"</button>
            <Show when=move || asking.get()>
                <div class="confirm" data-test="redeploy-confirm">
                    <p>
                        <strong>{move || format!("Deploy {} from pipeline run {run_id}? ", this())}</strong>
                        <Transition fallback=|| ()>
                            {move || live.try_get().flatten().and_then(|r| r.ok()).map(|live| match live {
                                Some(d) => format!(
                                    "Live now: {} from pipeline run {}; it is replaced.",
                                    d.version.map_or("a model".to_string(), |v| format!("model version {v}")),
                                    d.pipeline_run_id.map_or("—".to_string(), |id| id.to_string()),
                                ),
                                None => "No model is live now.".to_string(),
                            })}
                        </Transition>
                    </p>
                    <button class="primary" data-test="redeploy-yes" disabled=move || deploy_busy.try_get().unwrap_or(false)
                        on:click=move |_| { asking.set(false); deploy.dispatch(DeployModel { id: run_id }); }>"Deploy"</button>
                    " "<button on:click=move |_| asking.set(false)>"Cancel"</button>
                </div>
            </Show>
            {move || deploy_value.try_get().flatten().map(|r| match r {
                Ok(()) => view! { <p class="ok-box" data-test="redeploy-started">{format!("Deploying {}…", this())}</p> }.into_any(),
                Err(e) => view! { <p class="error-box" data-test="redeploy-error">{e.to_string()}</p> }.into_any(),
            })}
        </Show>
    }
}
