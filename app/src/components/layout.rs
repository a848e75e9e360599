use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::server_check::ServerCheck;

/// The frame of every page: Lakeline's name, the navigation and the page itself.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"≋"</span>
                "Lakeline"
            </a>
            <nav aria-label="Main">
                <A href="/" exact=true>"Pipeline"</A>
                <A href="/history">"History"</A>
                <A href="/settings">"Settings"</A>
            </nav>
            <ServerCheck/>
        </header>
        <main class="page">{children()}</main>
    }
}
