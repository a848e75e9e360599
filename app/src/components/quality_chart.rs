use leptos::prelude::*;

use crate::api::QualityPoint;

/// Accuracy and recall across pipeline runs, as an inline SVG line chart.
#[component]
pub fn QualityChart(points: Vec<QualityPoint>) -> impl IntoView {
    if points.is_empty() {
        return view! { <p class="empty">"No retrain has logged accuracy or recall yet."</p> }.into_any();
    }
    let (w, h, pad) = (640.0_f64, 200.0_f64, 28.0_f64);
    let n = points.len();
    let x = move |i: usize| if n == 1 { w / 2.0 } else { pad + (w - 2.0 * pad) * i as f64 / (n - 1) as f64 };
    let y = move |v: f64| h - pad - (h - 2.0 * pad) * v.clamp(0.0, 1.0);
    let line = |get: fn(&QualityPoint) -> Option<f64>| {
        points.iter().enumerate().filter_map(|(i, p)| get(p).map(|v| format!("{:.1},{:.1}", x(i), y(v)))).collect::<Vec<_>>().join(" ")
    };
    let accuracy = line(|p| p.accuracy);
    let recall = line(|p| p.recall);
    let dots = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let title = format!("run {} · accuracy {:?} · recall {:?}", p.run_id, p.accuracy, p.recall);
            view! {
                <a href=format!("/runs/{}", p.run_id)>
                    <circle cx=format!("{:.1}", x(i)) cy=format!("{:.1}", y(p.accuracy.unwrap_or(0.0))) r="3.5" class="dot accuracy"><title>{title}</title></circle>
                </a>
            }
        })
        .collect_view();
    view! {
        <figure class="quality-chart" data-test="quality-chart">
            <svg viewBox=format!("0 0 {w} {h}") role="img" aria-label="Accuracy and recall across pipeline runs">
                <line x1=pad y1=y(0.0) x2=w - pad y2=y(0.0) class="axis"/>
                <line x1=pad y1=y(1.0) x2=w - pad y2=y(1.0) class="grid"/>
                <text x="2" y=y(1.0) + 4.0 class="label">"1.0"</text>
                <text x="2" y=y(0.0) + 4.0 class="label">"0.0"</text>
                <polyline points=accuracy class="series accuracy"/>
                <polyline points=recall class="series recall"/>
                {dots}
            </svg>
            <figcaption><span class="key accuracy">"accuracy"</span> " " <span class="key recall">"recall"</span> {format!(" · last {n} runs")}</figcaption>
        </figure>
    }
    .into_any()
}
