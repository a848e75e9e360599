use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::webhooks::WebhooksPanel;
use crate::components::schedule::SchedulePanel;

use crate::api::{get_settings, pipeline_setup, ApplyPipelineSetup, CheckPipelineSetup, PipelineSettings, RemoveDuplicateJobs, SaveSettings};

/// The workspace Lakeline drives, the pipeline's three jobs (create missing, repair drifted) and
/// the settings behind them.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let apply = ServerAction::<ApplyPipelineSetup>::new();
    // Actions' signals, taken now: `pending()`, `value()` and `version()` panic when called after a
    // hung-up render disposed the actions; the signals read as `None` then.
    let apply_busy = apply.pending();
    let apply_version = apply.version();
    let apply_value = apply.value();
    let check = ServerAction::<CheckPipelineSetup>::new();
    let check_busy = check.pending();
    let check_version = check.version();
    let save = ServerAction::<SaveSettings>::new();
    let save_version = save.version();
    let save_busy = save.pending();
    let save_value = save.value();
    let dedupe = ServerAction::<RemoveDuplicateJobs>::new();
    let dedupe_busy = dedupe.pending();
    let dedupe_version = dedupe.version();
    let dedupe_value = dedupe.value();
    let setup = Resource::new(
        move || (apply_version.try_get().unwrap_or_default(), check_version.try_get().unwrap_or_default(), save_version.try_get().unwrap_or_default(), dedupe_version.try_get().unwrap_or_default()),
        |_| pipeline_setup(),
    );
    let settings = Resource::new(move || save_version.try_get().unwrap_or_default(), |_| get_settings());
    view! {
        <Title text="Settings"/>
        <h1>"Settings"</h1>
        <section class="panel">
            <h2>"Pipeline jobs"</h2>
            <Transition fallback=|| view! { <p>"Asking the workspace…"</p> }>
                {move || setup.try_get().flatten().map(|r| match r {
                    Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                    Ok(view_) => { let duplicates: usize = view_.jobs.iter().map(|j| j.duplicates.len()).sum(); view! {
                        <p>{format!("Workspace: {} · project {}", view_.workspace, view_.project_id)}</p>
                        <p>{format!("Runtime: {}", view_.runtime.clone().unwrap_or_else(|| "none found".into()))}</p>
                        {view_.error.clone().map(|e| view! { <p class="error-box">{e}</p> })}
                        <table data-test="jobs">
                            <thead><tr><th>"Job"</th><th>"Script"</th><th>"State"</th><th>"Differences"</th></tr></thead>
                            <tbody>
                                {view_.jobs.into_iter().map(|j| view! {
                                    <tr data-test="job-row">
                                        <td>{j.name}</td><td class="mono">{j.script}</td>
                                        <td><span class=format!("status {}", j.state) data-test="job-state">{j.state.as_str()}</span></td>
                                        <td>
                                            {j.differences.join("; ")}
                                            {(!j.duplicates.is_empty()).then(|| view! {
                                                <span class="duplicates" data-test="job-duplicates">
                                                    {format!(" {} duplicate(s): {}", j.duplicates.len(), j.duplicates.join(", "))}
                                                </span>
                                            })}
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        {(duplicates > 0).then(|| view! {
                            <button class="danger" data-test="remove-duplicates" disabled=move || dedupe_busy.try_get().unwrap_or(false)
                                on:click=move |_| { dedupe.dispatch(RemoveDuplicateJobs {}); }>
                                {format!("Remove {duplicates} duplicate job(s)")}
                            </button>
                        })}
                    }.into_any() },
                })}
            </Transition>
            <button class="primary" data-test="setup-jobs" disabled=move || apply_busy.try_get().unwrap_or(false)
                on:click=move |_| { apply.dispatch(ApplyPipelineSetup {}); }>
                "Create missing jobs and repair drifted ones"
            </button>
            " "
            <button data-test="check-setup" disabled=move || check_busy.try_get().unwrap_or(false)
                on:click=move |_| { check.dispatch(CheckPipelineSetup {}); }>
                "Check again"
            </button>
            {move || apply_value.try_get().flatten().and_then(|r| r.err()).map(|e| view! { <p class="error-box">{e.to_string()}</p> })}
            {move || dedupe_value.try_get().flatten().and_then(|r| r.err()).map(|e| view! { <p class="error-box">{e.to_string()}</p> })}
        </section>
        <section class="panel">
            <h2>"Pipeline settings"</h2>
            <Transition fallback=|| ()>
                {move || settings.try_get().flatten().map(|r| match r {
                    Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                    Ok(s) => view! { <SettingsForm settings=s save=save save_busy=save_busy/> }.into_any(),
                })}
            </Transition>
            {move || save_value.try_get().flatten().map(|r| match r {
                Ok(_) => view! { <p class="ok-box">"Saved."</p> }.into_any(),
                Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
            })}
        </section>
        <SchedulePanel/>
        <WebhooksPanel/>
    }
}

/// `save_busy` is taken by the page: this form renders once the settings load, possibly after a
/// client hung up and the page's reactive owner was disposed.
#[component]
fn SettingsForm(settings: PipelineSettings, save: ServerAction<SaveSettings>, save_busy: Memo<bool>) -> impl IntoView {
    let fields = [
        ("owner_suffix", "Owner suffix (job, table, experiment and model names)", settings.owner_suffix.clone()),
        ("runtime_kernel", "Runtime kernel (empty: the newest Python)", settings.runtime_kernel.clone()),
        ("runtime_editor", "Runtime editor", settings.runtime_editor.clone()),
        ("runtime_edition", "Runtime edition", settings.runtime_edition.clone()),
        ("accuracy_key", "Accuracy: metric or param key", settings.accuracy_key.clone()),
        ("recall_key", "Recall: metric or param key", settings.recall_key.clone()),
        ("gate_accuracy_margin", "Quality gate: accuracy may be lower than the live model's by at most", settings.gate_accuracy_margin.clone()),
        ("gate_recall_margin", "Quality gate: recall may be lower than the live model's by at most", settings.gate_recall_margin.clone()),
    ];
    let signals: Vec<(&'static str, &'static str, RwSignal<String>)> = fields.into_iter().map(|(k, l, v)| (k, l, RwSignal::new(v))).collect();
    let values = signals.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let get = |key: &str| values.iter().find(|(k, _, _)| *k == key).map(|(_, _, s)| s.get_untracked()).unwrap_or_default();
        save.dispatch(SaveSettings {
            settings: PipelineSettings {
                owner_suffix: get("owner_suffix"),
                runtime_kernel: get("runtime_kernel"),
                runtime_editor: get("runtime_editor"),
                runtime_edition: get("runtime_edition"),
                accuracy_key: get("accuracy_key"),
                recall_key: get("recall_key"),
                gate_accuracy_margin: get("gate_accuracy_margin"),
                gate_recall_margin: get("gate_recall_margin"),
            },
        });
    };
    view! {
        <form class="settings" on:submit=submit>
            {signals.into_iter().map(|(key, label, signal)| view! {
                <label for=key>{label}</label>
                <input id=key name=key prop:value=move || signal.try_get().unwrap_or_default() on:input=move |ev| signal.set(event_target_value(&ev))/>
            }).collect_view()}
            <button type="submit" disabled=move || save_busy.try_get().unwrap_or(false)>"Save settings"</button>
        </form>
    }
}
