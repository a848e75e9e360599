//! Alerts (admins, on Settings): the webhooks that hear about pipeline runs ending, and how each
//! delivery went.

use leptos::prelude::*;

use crate::api::{alert_deliveries, list_webhooks, AddWebhook, AlertEvent, RemoveWebhook, WebhookKind};
use crate::components::format::{when, when_opt};

#[component]
pub fn WebhooksPanel() -> impl IntoView {
    let add = ServerAction::<AddWebhook>::new();
    let remove = ServerAction::<RemoveWebhook>::new();
    // Actions' signals, taken now: `pending()`, `value()` and `version()` panic when called after a
    // hung-up render disposed the actions; the signals read as `None` then.
    let (add_version, add_value, add_busy) = (add.version(), add.value(), add.pending());
    let remove_version = remove.version();
    let webhooks = Resource::new(move || (add_version.try_get(), remove_version.try_get()), |_| list_webhooks());
    let deliveries = Resource::new(move || add_version.try_get(), |_| alert_deliveries());
    let name = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let kind = RwSignal::new(WebhookKind::Generic);
    let events = RwSignal::new(vec![AlertEvent::Failed, AlertEvent::Stopped, AlertEvent::TimedOut]);
    view! {
        <section class="panel" data-test="alerts">
            <h2>"Alerts"</h2>
            <p>"Webhooks hear when a pipeline run ends: the run, the stage, the reason and a link to the run. Deliveries are retried with backoff."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || webhooks.try_get().flatten().map(|r| match r {
                    Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No webhooks yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table data-test="webhooks">
                            <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Events"</th><th>"Target"</th><th>"Added"</th><th></th></tr></thead>
                            <tbody>{list.into_iter().map(|w| {
                                let id = w.id;
                                let listed: Vec<&str> = w.events.iter().map(|e| e.as_str()).collect();
                                view! {
                                    <tr data-test="webhook-row">
                                        <td>{w.name}</td><td>{w.kind.as_str()}</td><td>{listed.join(", ")}</td><td class="mono">{w.target}</td>
                                        <td>{format!("{} by {}", when(&w.created_at), w.created_by)}</td>
                                        <td><button class="danger" on:click=move |_| { remove.dispatch(RemoveWebhook { id }); }>"Remove"</button></td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                })}
            </Transition>
            <form class="settings" data-test="add-webhook" on:submit=move |ev| {
                ev.prevent_default();
                let chosen: Vec<&str> = events.get_untracked().iter().map(|e| e.as_str()).collect();
                add.dispatch(AddWebhook { name: name.get_untracked(), url: url.get_untracked(), kind: kind.get_untracked(), events: chosen.join(",") });
            }>
                <label for="webhook-name">"Name"</label>
                <input id="webhook-name" placeholder="team channel" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="webhook-url">"URL"</label>
                <input id="webhook-url" type="url" placeholder="https://hooks.example.com/…" prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
                <label for="webhook-kind">"Message"</label>
                <select id="webhook-kind" on:change=move |ev| if let Ok(k) = event_target_value(&ev).parse() { kind.set(k) }>
                    {WebhookKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{match k { WebhookKind::Generic => "generic JSON", WebhookKind::Slack => "Slack-compatible" }}</option> }).collect_view()}
                </select>
                <span>"When a run"</span>
                <span class="checks">
                    {AlertEvent::ALL.iter().map(|&e| view! {
                        <label><input type="checkbox" data-test=format!("webhook-event-{e}") prop:checked=move || events.with(|v| v.contains(&e))
                            on:change=move |ev| { let on = event_target_checked(&ev); events.update(|v| { v.retain(|x| *x != e); if on { v.push(e) } }); }/>
                            {format!(" {e} ")}</label>
                    }).collect_view()}
                </span>
                <button type="submit" class="primary" data-test="add-webhook-submit" disabled=move || add_busy.try_get().unwrap_or(false)>"Add webhook"</button>
            </form>
            {move || add_value.try_get().flatten().and_then(|r| r.err()).map(|e| view! { <p class="error-box" data-test="webhook-error">{e.to_string()}</p> })}
            <h3>"Deliveries"</h3>
            <Transition fallback=|| ()>
                {move || deliveries.try_get().flatten().and_then(|r| r.ok()).map(|list| view! {
                    <table data-test="deliveries">
                        <thead><tr><th>"Queued"</th><th>"Webhook"</th><th>"Run"</th><th>"Event"</th><th>"State"</th><th>"Attempts"</th><th>"Last error"</th></tr></thead>
                        <tbody>{list.into_iter().map(|d| view! {
                            <tr data-test="delivery-row">
                                <td>{when(&d.created_at)}</td><td>{d.webhook}</td>
                                <td><a href=format!("/runs/{}", d.pipeline_run_id)>{format!("#{}", d.pipeline_run_id)}</a></td>
                                <td>{d.event}</td>
                                <td data-test="delivery-state">{match d.state.as_str() {
                                    "pending" => format!("pending (next {})", when_opt(&d.next_attempt_at)),
                                    "delivered" => format!("delivered {}", when_opt(&d.delivered_at)),
                                    other => other.to_string(),
                                }}</td>
                                <td>{d.attempts}</td><td>{d.last_error.unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                })}
            </Transition>
        </section>
    }
}
