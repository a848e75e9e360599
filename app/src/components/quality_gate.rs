//! The redeployment's quality gate on the run page: the decision, both models' figures on the
//! same held-out rows, and, for a gated model, "Deploy anyway" (operators; audited on the server).

use leptos::prelude::*;

use crate::api::{DeployAnyway, GateDecision, QualityGate, Role};
use crate::components::format::ratio;
use crate::components::session::may;

#[component]
pub fn QualityGatePanel(run_id: i64, gate: Option<QualityGate>, run_active: bool) -> impl IntoView {
    let Some(gate) = gate else {
        return view! { <p data-test="gate-decision">"No gate decision (yet)."</p> }.into_any();
    };
    let margin = |m: Option<f64>| m.map_or("—".to_string(), |m| format!("{m}"));
    let rows = [("accuracy", gate.accuracy, gate.live_accuracy, gate.accuracy_margin), ("recall", gate.recall, gate.live_recall, gate.recall_margin)];
    let live = match (&gate.live_version, &gate.live_run_id) {
        (Some(v), _) => format!("live model (version {v})"),
        (None, Some(_)) => "live model".to_string(),
        (None, None) => "no live model".to_string(),
    };
    let gated = gate.is_gated();
    view! {
        <p>
            <span class=format!("pill gate {}", gate.decision) data-test="gate-decision">{gate.decision.as_str()}</span>
            " "<span data-test="gate-reason">{gate.reason.clone()}</span>
        </p>
        {(gate.decision != GateDecision::First && gate.decision != GateDecision::Unmeasured).then(|| view! {
            <table class="kv" data-test="gate-figures">
                <thead><tr><th>"On the held-out rows"</th><th>"new model"</th><th>{live}</th><th>"may be lower by"</th></tr></thead>
                <tbody>{rows.into_iter().map(|(metric, new, live, m)| view! {
                    <tr><td>{metric}</td><td>{ratio(new)}</td><td>{ratio(live)}</td><td>{margin(m)}</td></tr>
                }).collect_view()}</tbody>
            </table>
        })}
        {(gated && !run_active).then(|| view! { <DeployAnywayButton run_id=run_id/> })}
    }
    .into_any()
}

/// Deploys the gated model after a confirmation that says the live model is replaced.
#[component]
fn DeployAnywayButton(run_id: i64) -> impl IntoView {
    let deploy = ServerAction::<DeployAnyway>::new();
    // Taken now: `pending()` and `value()` panic when called after a hung-up render disposed the
    // action; the signals read as `None` then.
    let (busy, value) = (deploy.pending(), deploy.value());
    let asking = RwSignal::new(false);
    view! {
        <Show when=may(Role::Operator)>
            <button data-test="deploy-anyway" on:click=move |_| asking.set(true)>"Deploy anyway"</button>
            <Show when=move || asking.get()>
                <div class="confirm" data-test="deploy-anyway-confirm">
                    <p><strong>"Deploy this model although the quality gate held it back? It replaces the live model."</strong></p>
                    <button class="primary" data-test="deploy-anyway-yes" disabled=move || busy.try_get().unwrap_or(false)
                        on:click=move |_| { asking.set(false); deploy.dispatch(DeployAnyway { id: run_id }); }>"Deploy anyway"</button>
                    " "<button on:click=move |_| asking.set(false)>"Cancel"</button>
                </div>
            </Show>
            {move || value.try_get().flatten().map(|r| match r {
                Ok(()) => view! { <p class="ok-box" data-test="deploy-anyway-started">"Deploying past the gate…"</p> }.into_any(),
                Err(e) => view! { <p class="error-box" data-test="deploy-anyway-error">{e.to_string()}</p> }.into_any(),
            })}
        </Show>
    }
}
