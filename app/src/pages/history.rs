use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{list_pipeline_runs, HistoryCursor, HistoryFilter, PipelineStatus, RunSource, Stage};
use crate::components::format::{deployment, duration, ratio, snapshot_range, when, who};
use crate::components::live::{count_changes, use_changes};

/// Every pipeline run, newest first, with filters and pages. The filters live in the URL.
#[component]
pub fn HistoryPage() -> impl IntoView {
    let query = use_query_map();
    let changes = count_changes(use_changes(), |c| c.shows_in_lists());
    let filter = move || {
        let q = query.try_get().unwrap_or_default();
        let get = |k: &str| q.get(k).unwrap_or_default();
        (
            HistoryFilter {
                status: get("status"),
                from: get("from"),
                to: get("to"),
                who: get("who"),
                snapshot: get("snapshot"),
                note: get("note"),
                with_notes: get("with_notes") == "true",
            },
            get("cursor"),
        )
    };
    let page = Resource::new(move || (filter(), changes.try_get().unwrap_or_default()), |((f, c), _)| list_pipeline_runs(f, c));
    // Runs ticked for comparison, in the order ticked.
    let selected = RwSignal::new(Vec::<i64>::new());
    let compare_href = move || format!("/compare?runs={}", selected.get().iter().map(i64::to_string).collect::<Vec<_>>().join(","));
    let link = move |c: HistoryCursor| {
        let (f, _) = filter();
        let q = |v: &str| encode(v);
        format!(
            "/history?status={}&from={}&to={}&who={}&snapshot={}&note={}&with_notes={}&cursor={}",
            q(&f.status),
            q(&f.from),
            q(&f.to),
            q(&f.who),
            q(&f.snapshot),
            q(&f.note),
            f.with_notes,
            c.encode()
        )
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
                            {std::iter::once("").chain(PipelineStatus::NAMES.iter().copied()).map(|s| {
                                let selected = s == f.status;
                                view! { <option value=s selected=selected>{if s.is_empty() { "any" } else { s }}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"From " <input type="date" name="from" value=f.from.clone()/></label>
                    <label>"To " <input type="date" name="to" value=f.to.clone()/></label>
                    <label>"Who " <input name="who" value=f.who.clone() size="10"/></label>
                    <label>"Snapshot " <input name="snapshot" value=f.snapshot.clone() size="20" data-test="filter-snapshot"/></label>
                    <label>"Note " <input name="note" value=f.note.clone() size="12" data-test="filter-note"/></label>
                    <label><input type="checkbox" name="with_notes" value="true" checked=f.with_notes data-test="filter-with-notes"/>" with notes"</label>
                }
            }}
            <button type="submit">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || page.try_get().flatten().map(|result| match result {
                Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                Ok(page) if page.rows.is_empty() => view! { <p class="empty">"No pipeline run matches."</p> }.into_any(),
                Ok(page) => {
                    let pages = (page.total + page.page_size - 1) / page.page_size;
                    let (current, total) = (page.newer_count / page.page_size, page.total);
                    let (older, newer) = (page.older, page.newer);
                    view! {
                        <table class="history" data-test="history">
                            <thead><tr>
                                <th title="Tick two or more runs to compare them">"Compare"</th><th>"Run"</th><th>"When"</th><th>"Who"</th><th>"Status"</th><th>"Stages"</th><th>"Duration"</th>
                                <th>"Snapshot range"</th><th>"Accuracy"</th><th>"Recall"</th><th>"Gate"</th><th>"Model"</th><th>"Deployment"</th>
                            </tr></thead>
                            <tbody>
                                {page.rows.into_iter().map(|r| {
                                    let stages = Stage::ALL.iter().zip(r.stages).map(|(stage, state)| {
                                        let s = state.map_or("—", |s| s.word());
                                        let class = format!("pill status {s}");
                                        view! { <span class=class title=stage.title()>{s}</span> }
                                    }).collect_view();
                                    let (gate_class, gate_text) = r.gate.map_or(("none", "—".to_string()), |(decision, text)| (decision.as_str(), text));
                                    view! {
                                        <tr data-test="history-row">
                                            <td><input type="checkbox" data-test="compare-select" aria-label=format!("compare run {}", r.id)
                                                prop:checked=move || selected.with(|s| s.contains(&r.id))
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    selected.update(|s| if on { if !s.contains(&r.id) { s.push(r.id) } } else { s.retain(|&id| id != r.id) });
                                                }/></td>
                                            <td>
                                                <a href=format!("/runs/{}", r.id)>{format!("#{}", r.id)}</a>
                                                {(r.note_count > 0).then(|| view! {
                                                    <span class="note-marker" data-test="note-marker" title=format!("{} note(s)", r.note_count)>{format!(" ✎{}", r.note_count)}</span>
                                                })}
                                                {(r.source == RunSource::Scheduled).then(|| view! {
                                                    <span class="scheduled-marker" data-test="scheduled-marker" title="Started by New Batch's schedule">" ⏱ scheduled"</span>
                                                })}
                                            </td>
                                            <td>{when(&r.created_at)}</td>
                                            <td>{who(&r.triggered_by, r.source)}</td>
                                            <td><span class=format!("status {}", r.status)>{r.status.as_str()}</span></td>
                                            <td class="pills">{stages}</td>
                                            <td>{duration(r.duration_seconds)}</td>
                                            <td class="mono" data-test="snapshot-range">{snapshot_range(&r.parent_snapshot_id, &r.snapshot_id)}</td>
                                            <td>{ratio(r.accuracy)}</td>
                                            <td>{ratio(r.recall)}</td>
                                            <td data-test="history-gate" class=format!("gate {gate_class}")>{gate_text}</td>
                                            <td>{r.model_version.map(|v| format!("v{v}")).unwrap_or_else(|| "—".into())}</td>
                                            <td data-test="history-deployment">{deployment(r.deployment)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <p class="compare-bar">
                            <Show when=move || { selected.with(|s| s.len() >= 2) }
                                fallback=|| view! { <span class="muted">"Tick two or more runs to compare them side by side."</span> }>
                                <a class="button primary" data-test="compare-selected" href=compare_href>
                                    {move || format!("Compare {} runs", selected.with(Vec::len))}
                                </a>
                            </Show>
                        </p>
                        <nav class="pager">
                            {newer.map(|c| view! { <a href=link(c) data-test="newer-page">"← newer"</a> })}
                            <span>{format!(" page {} of {} · {} runs ", current + 1, pages.max(1), total)}</span>
                            {older.map(|c| view! { <a href=link(c) data-test="older-page">"older →"</a> })}
                        </nav>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// Percent-encodes a query value (filters are typed by users: `&`, `#`, `%`, spaces).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_encoded() {
        assert_eq!(super::encode("a&b c%"), "a%26b%20c%25");
        assert_eq!(super::encode("2026-11-22"), "2026-11-22");
    }

    #[test]
    fn cursors_read_back_what_they_write() {
        use crate::api::HistoryCursor;
        for c in [HistoryCursor::default(), HistoryCursor { before: Some(7), after: None }, HistoryCursor { before: None, after: Some(9) }] {
            assert_eq!(HistoryCursor::parse(&c.encode()), Ok(c));
        }
        assert!(HistoryCursor::parse("page-3").unwrap_err().starts_with("cursor:"));
        assert!(HistoryCursor::parse("before-x").is_err());
    }
}
