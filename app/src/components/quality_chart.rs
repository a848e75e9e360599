//! Accuracy and recall across pipeline runs, as an inline SVG chart a person reads at a glance:
//! run numbers and dates on the x axis, a value on hover for every point, the quality gate's
//! thresholds (the live model's figures less the margins) as dashed lines, and marks for runs
//! that were gated or failed.

use leptos::prelude::*;

use crate::api::{QualityPoint, QualityTrend};
use crate::components::format::{ratio, when};

/// At most this many run numbers under the x axis; the others are left out, evenly.
const X_LABELS: usize = 12;

fn describe(p: &QualityPoint) -> String {
    let mut text = format!("run #{} · {} · {} · accuracy {} · recall {}", p.run_id, when(&p.created_at), p.status, ratio(p.accuracy), ratio(p.recall));
    if let Some(gate) = &p.gate {
        text.push_str(&format!(" · gate: {}", gate.summary()));
    }
    text
}

#[component]
pub fn QualityChart(series: QualityTrend) -> impl IntoView {
    let points = series.points;
    if points.iter().all(|p| p.accuracy.is_none() && p.recall.is_none()) {
        return view! { <p class="empty">"No retrain has logged accuracy or recall yet."</p> }.into_any();
    }
    let (w, h, left, right, top, bottom) = (640.0_f64, 220.0_f64, 34.0_f64, 12.0_f64, 12.0_f64, 40.0_f64);
    let n = points.len();
    let x = move |i: usize| if n == 1 { (left + w - right) / 2.0 } else { left + (w - left - right) * i as f64 / (n - 1) as f64 };
    let y = move |v: f64| h - bottom - (h - top - bottom) * v.clamp(0.0, 1.0);
    let line = |get: fn(&QualityPoint) -> Option<f64>| {
        points.iter().enumerate().filter_map(|(i, p)| get(p).map(|v| format!("{:.1},{:.1}", x(i), y(v)))).collect::<Vec<_>>().join(" ")
    };
    let (accuracy, recall) = (line(|p| p.accuracy), line(|p| p.recall));
    let every = n.div_ceil(X_LABELS).max(1);
    let marks = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let title = describe(p);
            let dot = |v: Option<f64>, class: &'static str| {
                v.map(|v| view! { <circle cx=format!("{:.1}", x(i)) cy=format!("{:.1}", y(v)) r="3.5" class=format!("dot {class}")><title>{title.clone()}</title></circle> })
            };
            let gated = p.gate.as_ref().is_some_and(|g| g.is_gated());
            let failed = p.accuracy.is_none() && p.recall.is_none();
            let label = (i % every == 0 || i == n - 1).then(|| view! {
                <text x=format!("{:.1}", x(i)) y=h - bottom + 14.0 class="label" text-anchor="middle">{format!("#{}", p.run_id)}</text>
            });
            view! {
                <a href=format!("/runs/{}", p.run_id) data-test="quality-point">
                    {dot(p.accuracy, "accuracy")}
                    {dot(p.recall, "recall")}
                    {gated.then(|| view! {
                        <circle cx=format!("{:.1}", x(i)) cy=format!("{:.1}", y(p.recall.unwrap_or(0.0))) r="7" class="mark gated" data-test="gated-mark"><title>{title.clone()}</title></circle>
                    })}
                    {failed.then(|| view! {
                        <text x=format!("{:.1}", x(i)) y=y(0.0) + 4.0 class="mark failed" text-anchor="middle" data-test="failed-mark">"✕"<title>{title.clone()}</title></text>
                    })}
                </a>
                {label}
            }
        })
        .collect_view();
    let threshold = |v: Option<f64>, class: &'static str, what: &'static str| {
        v.map(|v| view! {
            <line x1=left y1=y(v) x2=w - right y2=y(v) class=format!("threshold {class}") data-test="gate-threshold">
                <title>{format!("quality gate: a new model's {what} may not fall below {v:.3} (the live model's less the margin)")}</title>
            </line>
        })
    };
    let (first, last) = (when(&points[0].created_at), when(&points[n - 1].created_at));
    view! {
        <figure class="quality-chart" data-test="quality-chart">
            <svg viewBox=format!("0 0 {w} {h}") role="img" aria-label="Accuracy and recall across pipeline runs">
                {[0.0, 0.25, 0.5, 0.75, 1.0].map(|v| view! {
                    <line x1=left y1=y(v) x2=w - right y2=y(v) class=if v == 0.0 { "axis" } else { "grid" }/>
                    <text x=left - 4.0 y=y(v) + 4.0 class="label" text-anchor="end">{format!("{v}")}</text>
                })}
                {threshold(series.accuracy_threshold, "accuracy", "accuracy")}
                {threshold(series.recall_threshold, "recall", "recall")}
                <polyline points=accuracy class="series accuracy"/>
                <polyline points=recall class="series recall"/>
                {marks}
                <text x=left y=h - 6.0 class="label">{first}</text>
                <text x=w - right y=h - 6.0 class="label" text-anchor="end">{last}</text>
            </svg>
            <figcaption>
                <span class="key accuracy">"accuracy"</span> " " <span class="key recall">"recall"</span>
                " · dashed: the quality gate now · ◯ gated · ✕ failed"
                {format!(" · last {n} runs (x: run number)")}
            </figcaption>
        </figure>
    }
    .into_any()
}
