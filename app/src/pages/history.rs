use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{list_pipeline_runs, HistoryFilter, STAGES};
use crate::components::format::{duration, ratio, snapshot_range, when, who};
use crate::components::live::use_changes;

/// Every pipeline run, newest first, with filters and pages. The filters live in the URL.
#[component]
pub fn HistoryPage() -> impl IntoView {
    let query = use_query_map();
    let changes = use_changes();
    let filter = move || {
        let q = query.get();
        let get = |k: &str| q.get(k).unwrap_or_default();
        (
            HistoryFilter { status: get("status"), from: get("from"), to: get("to"), who: get("who"), snapshot: get("snapshot") },
            get("page").parse::<i64>().unwrap_or(0).max(0),
        )
    };
    let page = Resource::new(move || (filter(), changes.get()), |((f, p), _)| list_pipeline_runs(f, p));
    let link = move |p: i64| {
        let (f, _) = filter();
        format!("/history?status={}&from={}&to={}&who={}&snapshot={}&page={p}", f.status, f.from, f.to, f.who, f.snapshot)
    };
    view! {
        <Title text="History"/>
        <h1>"History"</h1>
        <form class="filters" method="get" action="/history">
            {move || {
                let (f, _) = filter();
                view! {
                    <label>"Status "
                        <select name="status">
                            {["", "running", "succeeded", "failed", "stopped", "timedout", "incomplete"].into_iter().map(|s| {
                                let selected = s == f.status;
                                view! { <option value=s selected=selected>{if s.is_empty() { "any" } else { s }}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"From " <input type="date" name="from" value=f.from.clone()/></label>
                    <label>"To " <input type="date" name="to" value=f.to.clone()/></label>
                    <label>"Who " <input name="who" value=f.who.clone() size="10"/></label>
                    <label>"Snapshot " <input name="snapshot" value=f.snapshot.clone() size="20" data-test="filter-snapshot"/></label>
                }
            }}
            <button type="submit">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || page.get().map(|result| match result {
                Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                Ok(page) if page.runs.is_empty() => view! { <p class="empty">"No pipeline run matches."</p> }.into_any(),
                Ok(page) => {
                    let pages = (page.total + page.page_size - 1) / page.page_size;
                    let (current, total) = (page.page, page.total);
                    view! {
                        <table class="history" data-test="history">
                            <thead><tr>
                                <th>"Run"</th><th>"When"</th><th>"Who"</th><th>"Status"</th><th>"Stages"</th><th>"Duration"</th>
                                <th>"Snapshot range"</th><th>"Accuracy"</th><th>"Recall"</th><th>"Model"</th><th>"Deployment"</th>
                            </tr></thead>
                            <tbody>
                                {page.runs.into_iter().map(|r| {
                                    let stages = (0..3).map(|i| {
                                        let s = r.stages.iter().find(|s| s.stage == i).map(|s| s.status.clone()).unwrap_or_else(|| "—".into());
                                        let class = format!("pill status {s}");
                                        view! { <span class=class title=STAGES[i]>{s}</span> }
                                    }).collect_view();
                                    view! {
                                        <tr data-test="history-row">
                                            <td><a href=format!("/runs/{}", r.id)>{format!("#{}", r.id)}</a></td>
                                            <td>{when(&r.created_at)}</td>
                                            <td>{who(&r.triggered_by, &r.source)}</td>
                                            <td><span class=format!("status {}", r.status)>{r.status.clone()}</span></td>
                                            <td class="pills">{stages}</td>
                                            <td>{duration(r.duration_seconds)}</td>
                                            <td class="mono" data-test="snapshot-range">{snapshot_range(&r.parent_snapshot_id, &r.snapshot_id)}</td>
                                            <td>{ratio(r.accuracy)}</td>
                                            <td>{ratio(r.recall)}</td>
                                            <td>{r.model_version.map(|v| format!("v{v}")).unwrap_or_else(|| "—".into())}</td>
                                            <td>{r.deployment_status.clone().unwrap_or_else(|| "—".into())}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <nav class="pager">
                            {(current > 0).then(|| view! { <a href=link(current - 1)>"← newer"</a> })}
                            <span>{format!(" page {} of {} · {} runs ", current + 1, pages.max(1), total)}</span>
                            {(current + 1 < pages).then(|| view! { <a href=link(current + 1)>"older →"</a> })}
                        </nav>
                    }.into_any()
                }
            })}
        </Transition>
    }
}
