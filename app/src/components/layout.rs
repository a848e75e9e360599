use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::api::Role;
use crate::components::failure_banner::FailureBanner;
use crate::components::server_check::ServerCheck;
use crate::components::session::{may, provide_session, SessionBadge};

/// The frame of every page: Lakeline's name, the navigation and the page itself.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    provide_session();
    let admin = may(Role::Admin);
    // Taken now, not in the links: the admins' links render late (once the session is known),
    // possibly after a hung-up render dropped the router's context.
    let path = use_location().pathname;
    let link = move |href: &'static str, label: &'static str| {
        let current = move || {
            let path = path.try_get().unwrap_or_default();
            let here = if href == "/" { path == "/" } else { path.starts_with(href) };
            here.then_some("page")
        };
        view! { <a href=href aria-current=current>{label}</a> }
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"≋"</span>
                "Lakeline"
            </a>
            <nav aria-label="Main">
                {link("/", "Pipeline")}
                {link("/history", "History")}
                {link("/data", "Data")}
                {link("/tokens", "Tokens")}
                <Transition fallback=|| ()>
                    <Show when=admin>{link("/settings", "Settings")} {link("/users", "Users")} {link("/audit", "Audit")}</Show>
                </Transition>
            </nav>
            <ServerCheck/>
            <SessionBadge/>
        </header>
        <main class="page"><FailureBanner/>{children()}</main>
    }
}
