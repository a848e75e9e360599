//! Lakeline's user interface: the pages, their components, the server functions they call and
//! the types both sides share. Built twice: with `ssr` into the server, with `hydrate` into wasm.
#![recursion_limit = "256"]

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod components;
pub mod error;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::components::layout::Layout;
use crate::pages::audit::AuditPage;
use crate::pages::sign_in::{SetupPage, SignInPage};
use crate::pages::{tokens::TokensPage, users::UsersPage};
use crate::pages::{compare::ComparePage, data::DataPage, history::HistoryPage, pipeline::PipelinePage, run_detail::RunDetailPage, settings::SettingsPage};

/// The HTML document the server renders around the app. Its Content-Security-Policy allows only
/// this site's scripts and the inline scripts Leptos writes, which carry this response's nonce.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        let policy = format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
        );
        if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // The build's versioned name (`/pkg/<version>/`), kept by browsers for good.
                <link rel="stylesheet" id="leptos" href=format!("/{}/lakeline.css", options.site_pkg_dir)/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| if page.is_empty() { "Lakeline".to_string() } else { format!("{page} · Lakeline") }/>
        <Router>
            <Layout>
                <Routes fallback=|| view! { <p class="empty">"There is no page at this address."</p> }>
                    <Route path=path!("/") view=PipelinePage/>
                    <Route path=path!("/history") view=HistoryPage/>
                    <Route path=path!("/data") view=DataPage/>
                    <Route path=path!("/compare") view=ComparePage/>
                    <Route path=path!("/runs/:id") view=RunDetailPage/>
                    <Route path=path!("/settings") view=SettingsPage/>
                    <Route path=path!("/audit") view=AuditPage/>
                    <Route path=path!("/users") view=UsersPage/>
                    <Route path=path!("/tokens") view=TokensPage/>
                    <Route path=path!("/sign-in") view=SignInPage/>
                    <Route path=path!("/setup") view=SetupPage/>
                </Routes>
            </Layout>
        </Router>
    }
}

/// Entry point of the wasm bundle: attaches the app to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
