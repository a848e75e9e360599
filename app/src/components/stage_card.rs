use leptos::prelude::*;

use crate::api::{Stage, StageLog, StageView};
use crate::components::format::{duration, when_opt};

/// One stage of a pipeline run: status in CML's words, start, duration and a log tail.
#[component]
pub fn StageCard(stage: Stage, view: Option<StageView>, log: Option<StageLog>) -> impl IntoView {
    let status = view.as_ref().map(|v| v.state.word()).unwrap_or("not started").to_string();
    let class = format!("stage-card status-{}", status.replace(' ', "-"));
    let tail = log
        .map(|l| {
            let lines: Vec<&str> = l.text.lines().collect();
            lines[lines.len().saturating_sub(12)..].join("\n")
        })
        .unwrap_or_default();
    view! {
        <section class=class data-test=format!("stage-{}", stage.index())>
            <header>
                <h3>{stage.title()}</h3>
                <span class=format!("status {}", status.replace(' ', "-")) data-test="stage-status">{status.clone()}</span>
            </header>
            <dl>
                <dt>"Started"</dt>
                <dd>{when_opt(&view.as_ref().and_then(|v| v.running_at.clone().or(v.created_at.clone())))}</dd>
                <dt>"Duration"</dt>
                <dd>{duration(view.as_ref().and_then(|v| v.duration_seconds))}</dd>
                <dt>"Job run"</dt>
                <dd class="mono">{view.as_ref().map(|v| v.run_id.clone()).unwrap_or_else(|| "—".into())}</dd>
            </dl>
            <pre class="log-tail" data-test="log-tail">{tail}</pre>
        </section>
    }
}
