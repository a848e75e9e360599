use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::Role;
use crate::components::failure_banner::FailureBanner;
use crate::components::server_check::ServerCheck;
use crate::components::session::{may, provide_session, SessionBadge};

/// The frame of every page: Lakeline's name, the navigation and the page itself.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    provide_session();
    let admin = may(Role::Admin);
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"≋"</span>
                "Lakeline"
            </a>
            <nav aria-label="Main">
                <A href="/" exact=true>"Pipeline"</A>
                <A href="/history">"History"</A>
                <A href="/tokens">"Tokens"</A>
                <Transition fallback=|| ()>
                    <Show when=admin><A href="/settings">"Settings"</A> <A href="/users">"Users"</A> <A href="/audit">"Audit"</A></Show>
                </Transition>
            </nav>
            <ServerCheck/>
            <SessionBadge/>
        </header>
        <main class="page"><FailureBanner/>{children()}</main>
    }
}
