use leptos::prelude::*;
use leptos_meta::Title;

/// The workspace Lakeline drives and the pipeline's job definitions.
#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <Title text="Settings"/>
        <h1>"Settings"</h1>
        <p class="lede">
            "The workspace Lakeline talks to (the embedded local workspace or a CML workspace) and "
            "the three jobs of the pipeline will be shown here, with a button that creates missing "
            "jobs and repairs drifted ones."
        </p>
    }
}
