use leptos::prelude::*;
use leptos_meta::Title;

/// Every pipeline run, newest first.
#[component]
pub fn HistoryPage() -> impl IntoView {
    view! {
        <Title text="History"/>
        <h1>"History"</h1>
        <p class="lede">
            "Every pipeline run will be listed here, newest first: when and by whom it ran, the "
            "status of each stage, the Iceberg snapshot range it trained on, its accuracy and "
            "recall, and the model version and deployment it produced."
        </p>
    }
}
