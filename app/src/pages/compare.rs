//! The Compare page: pipeline runs side by side — snapshot ranges, rows, quality, the gate, model
//! version, deployment, and every param, metric and tag — with the rows that differ marked.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::compare_runs;

#[component]
pub fn ComparePage() -> impl IntoView {
    let query = use_query_map();
    let runs = move || query.try_get().unwrap_or_default().get("runs").unwrap_or_default();
    let comparison = Resource::new(runs, compare_runs);
    let only_differences = RwSignal::new(false);
    view! {
        <Title text="Compare runs"/>
        <h1>"Compare runs"</h1>
        <p class="meta">
            <label><input type="checkbox" data-test="only-differences" prop:checked=move || only_differences.get()
                on:change=move |ev| only_differences.set(event_target_checked(&ev))/>" Only what differs"</label>
            " · "<a href="/history">"choose other runs in History"</a>
        </p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || comparison.try_get().flatten().map(|result| match result {
                Err(e) => view! { <p class="error-box" data-test="compare-error">{e.to_string()}</p> }.into_any(),
                Ok(c) => view! {
                    <table class="history compare" data-test="comparison">
                        <thead><tr>
                            <th>""</th><th>""</th>
                            {c.runs.iter().map(|id| view! { <th><a href=format!("/runs/{id}")>{format!("Run #{id}")}</a></th> }).collect_view()}
                        </tr></thead>
                        <tbody>
                            {c.rows.into_iter().map(|row| {
                                let differs = row.differs;
                                view! {
                                    <tr data-test="compare-row" data-key=format!("{}.{}", row.section.to_lowercase(), row.key) class:differs=differs
                                        style:display=move || if only_differences.get() && !differs { "none" } else { "" }>
                                        <th class="section">{row.section.clone()}</th>
                                        <th class="mono">{row.key.clone()}</th>
                                        {row.values.into_iter().map(|v| view! { <td class="mono">{v.unwrap_or_else(|| "—".into())}</td> }).collect_view()}
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
    }
}
