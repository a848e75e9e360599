//! The audit log (admins): every state-changing action with who, when, from where, and how it
//! ended. Read only: nothing here edits or deletes an entry.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{audit_log, AuditFilter};
use crate::components::format::when;

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.try_get().unwrap_or_default();
        AuditFilter { actor: q.get("actor").unwrap_or_default(), action: q.get("action").unwrap_or_default() }
    };
    let entries = Resource::new(filter, audit_log);
    view! {
        <Title text="Audit"/>
        <h1>"Audit log"</h1>
        <form class="filters" method="get" action="/audit">
            {move || {
                let f = filter();
                view! {
                    <label>"Who " <input name="actor" value=f.actor size="12"/></label>
                    <label>"Action " <input name="action" value=f.action size="16" placeholder="pipeline., user., settings."/></label>
                }
            }}
            <button type="submit">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || entries.try_get().flatten().map(|result| match result {
                Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                Ok(entries) if entries.is_empty() => view! { <p class="empty">"No entry matches."</p> }.into_any(),
                Ok(entries) => view! {
                    <table class="history" data-test="audit">
                        <thead><tr><th>"When"</th><th>"Who"</th><th>"From"</th><th>"Action"</th><th>"Detail"</th><th>"Outcome"</th></tr></thead>
                        <tbody>
                            {entries.into_iter().map(|e| view! {
                                <tr data-test="audit-row">
                                    <td>{when(&e.at)}</td><td>{e.actor}</td><td class="mono">{e.address}</td>
                                    <td class="mono">{e.action}</td><td>{e.detail}</td><td>{e.outcome}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
    }
}
