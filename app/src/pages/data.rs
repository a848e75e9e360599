//! The Data page: the Iceberg table's snapshots, newest first and as a chart — each batch's
//! commit time, rows, failure rate, signal means, drift against the rows trained on before, and
//! the pipeline runs that committed it and trained on it.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{data_snapshots, SnapshotView, PSI_DRIFT};
use crate::components::format::{ratio, when_opt};
use crate::components::live::{count_changes, use_changes};

const SIGNALS: [&str; 4] = ["iot_signal_1", "iot_signal_2", "iot_signal_3", "iot_signal_4"];

fn run_link(id: i64) -> impl IntoView {
    view! { <a href=format!("/runs/{id}")>{format!("#{id}")}</a> }
}

#[component]
pub fn DataPage() -> impl IntoView {
    let changes = count_changes(use_changes(), |c| c.shows_in_lists());
    let snapshots = Resource::new(move || changes.try_get().unwrap_or_default(), |_| data_snapshots());
    view! {
        <Title text="Data"/>
        <h1>"Data"</h1>
        <p class="meta">{format!(
            "Each snapshot of the table is one batch New Batch appended. Drift is the population stability index of each signal against the rows trained on before; above {PSI_DRIFT} it is marked."
        )}</p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || snapshots.try_get().flatten().map(|result| match result {
                Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! { <p class="empty">"No batch has been committed yet: run the pipeline."</p> }.into_any(),
                Ok(list) => view! { <DataChart snapshots=list.clone()/> <SnapshotTable snapshots=list/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn SnapshotTable(snapshots: Vec<SnapshotView>) -> impl IntoView {
    view! {
        <table class="history data" data-test="snapshots">
            <thead><tr>
                <th>"Snapshot"</th><th>"Committed"</th><th>"Rows"</th><th>"Failure rate"</th>
                {SIGNALS.map(|s| view! { <th>{format!("mean {}", s.trim_start_matches("iot_"))}</th> })}
                <th>"Drift (max PSI)"</th><th>"Committed by"</th><th>"Trained on by"</th>
            </tr></thead>
            <tbody>
                {snapshots.into_iter().map(|s| {
                    let figures = s.figures.clone().unwrap_or_default();
                    let means = SIGNALS.map(|signal| view! { <td>{figures.means.get(signal).map_or("—".to_string(), |m| format!("{m:.2}"))}</td> });
                    let drift = match figures.max_psi() {
                        None => "— (nothing trained on before)".to_string(),
                        Some((signal, v)) => format!("{v:.3} ({})", signal.trim_start_matches("iot_")),
                    };
                    let drift_title = figures.psi.as_ref().map(|psi| psi.iter().map(|(k, v)| format!("{k}: {v:.3}")).collect::<Vec<_>>().join(" · ")).unwrap_or_default();
                    view! {
                        <tr data-test="data-snapshot" class:drifted=s.drifted>
                            <td class="mono" data-test="snapshot-id" title=s.parent_id.clone().map(|p| format!("parent {p}")).unwrap_or_else(|| "the table's first snapshot".into())>{s.snapshot_id.clone()}</td>
                            <td>{when_opt(&s.committed_at)}</td>
                            <td data-test="snapshot-rows">{s.rows_added.map_or("—".to_string(), |n| n.to_string())}</td>
                            <td data-test="snapshot-failure-rate">{ratio(figures.failure_rate)}</td>
                            {means}
                            <td data-test="snapshot-drift" title=drift_title>
                                {drift}
                                {s.drifted.then(|| view! { " " <span class="pill gate gated" data-test="drift-flag">"drift"</span> })}
                            </td>
                            <td>{run_link(s.committed_by)}</td>
                            <td data-test="snapshot-trained-by">
                                {if s.trained_by.is_empty() {
                                    view! { <span class="muted">"not trained on"</span> }.into_any()
                                } else {
                                    s.trained_by.iter().map(|&id| view! { {run_link(id)} " " }).collect_view().into_any()
                                }}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Failure rate (line) and drift (bars: each batch's largest PSI; the dashed line is the drift
/// threshold) per snapshot, oldest on the left; hovering a point shows its figures.
#[component]
fn DataChart(snapshots: Vec<SnapshotView>) -> impl IntoView {
    let points: Vec<SnapshotView> = snapshots.into_iter().rev().collect();
    let (w, h, pad) = (640.0_f64, 180.0_f64, 30.0_f64);
    let n = points.len();
    let top = points
        .iter()
        .filter_map(|p| p.figures.as_ref())
        .flat_map(|f| [f.failure_rate.unwrap_or(0.0), f.max_psi().map_or(0.0, |(_, v)| v)])
        .fold(0.5_f64, f64::max)
        .min(2.0);
    let step = (w - 2.0 * pad) / n.max(1) as f64;
    let x = move |i: usize| pad + step * (i as f64 + 0.5);
    let y = move |v: f64| h - pad - (h - 2.0 * pad) * (v / top).clamp(0.0, 1.0);
    let rate_line = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.figures.as_ref()?.failure_rate.map(|r| format!("{:.1},{:.1}", x(i), y(r))))
        .collect::<Vec<_>>()
        .join(" ");
    let marks = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let figures = p.figures.clone().unwrap_or_default();
            let psi = figures.max_psi().map(|(_, v)| v);
            let title = format!(
                "snapshot {} · run #{} · failure rate {} · drift {}",
                p.snapshot_id,
                p.committed_by,
                ratio(figures.failure_rate),
                psi.map_or("—".to_string(), |v| format!("{v:.3}"))
            );
            let bar = psi.map(|v| {
                let class = if v > PSI_DRIFT { "bar drift" } else { "bar" };
                view! { <rect x=format!("{:.1}", x(i) - step * 0.3) y=format!("{:.1}", y(v)) width=format!("{:.1}", step * 0.6) height=format!("{:.1}", y(0.0) - y(v)) class=class><title>{title.clone()}</title></rect> }
            });
            let dot = figures.failure_rate.map(|r| view! { <circle cx=format!("{:.1}", x(i)) cy=format!("{:.1}", y(r)) r="3.5" class="dot failure-rate"><title>{title.clone()}</title></circle> });
            view! {
                {bar}
                {dot}
                <text x=format!("{:.1}", x(i)) y=h - 8.0 class="label" text-anchor="middle">{format!("#{}", p.committed_by)}</text>
            }
        })
        .collect_view();
    view! {
        <figure class="quality-chart data-chart" data-test="data-chart">
            <svg viewBox=format!("0 0 {w} {h}") role="img" aria-label="Failure rate and drift per snapshot">
                <line x1=pad y1=y(0.0) x2=w - pad y2=y(0.0) class="axis"/>
                <line x1=pad y1=y(PSI_DRIFT) x2=w - pad y2=y(PSI_DRIFT) class="threshold"/>
                <text x="2" y=y(top) + 4.0 class="label">{format!("{top:.1}")}</text>
                <text x="2" y=y(PSI_DRIFT) + 4.0 class="label">{format!("{PSI_DRIFT}")}</text>
                <text x="2" y=y(0.0) + 4.0 class="label">"0"</text>
                {marks}
                <polyline points=rate_line class="series failure-rate"/>
            </svg>
            <figcaption>
                <span class="key failure-rate">"failure rate"</span> " " <span class="key drift">"drift (largest PSI)"</span>
                {format!(" · dashed: drift threshold {PSI_DRIFT} · x: the run that committed each snapshot, oldest left")}
            </figcaption>
        </figure>
    }
}
