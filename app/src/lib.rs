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
#[cfg(not(debug_assertions))]
use leptos_router::{lazy_route, Lazy, LazyRoute};

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

/// A page's view. In an optimised build, a lazy route whose code is loaded when the page is first
/// shown: `make release` splits the wasm at each (`cargo leptos build --split`), so that the first
/// download holds the pipeline page and what every page shares. A debug build is not split (a lazy
/// route's module would import a placeholder that only the split resolves), so there it is the
/// page's component itself.
#[cfg(not(debug_assertions))]
macro_rules! page {
    ($route:ident, $page:ident) => {
        Lazy::<$route>::new()
    };
}

#[cfg(debug_assertions)]
macro_rules! page {
    ($route:ident, $page:ident) => {
        $page
    };
}

/// The lazy routes of an optimised build (see `page!`).
#[cfg(not(debug_assertions))]
macro_rules! lazy_page {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> AnyView {
                let _no_data = this;
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

#[cfg(not(debug_assertions))]
lazy_page! {
    History => HistoryPage,
    Data => DataPage,
    Compare => ComparePage,
    RunDetail => RunDetailPage,
    Settings => SettingsPage,
    Audit => AuditPage,
    Users => UsersPage,
    Tokens => TokensPage,
    SignIn => SignInPage,
    Setup => SetupPage,
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
                    <Route path=path!("/history") view={page!(History, HistoryPage)}/>
                    <Route path=path!("/data") view={page!(Data, DataPage)}/>
                    <Route path=path!("/compare") view={page!(Compare, ComparePage)}/>
                    <Route path=path!("/runs/:id") view={page!(RunDetail, RunDetailPage)}/>
                    <Route path=path!("/settings") view={page!(Settings, SettingsPage)}/>
                    <Route path=path!("/audit") view={page!(Audit, AuditPage)}/>
                    <Route path=path!("/users") view={page!(Users, UsersPage)}/>
                    <Route path=path!("/tokens") view={page!(Tokens, TokensPage)}/>
                    <Route path=path!("/sign-in") view={page!(SignIn, SignInPage)}/>
                    <Route path=path!("/setup") view={page!(Setup, SetupPage)}/>
                </Routes>
            </Layout>
        </Router>
    }
}

/// Entry point of the wasm bundle: attaches the app to the server-rendered page (in an optimised
/// build, the form of hydration that waits for a lazy page's code before it attaches that page).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    #[cfg(not(debug_assertions))]
    leptos::mount::hydrate_lazy(App);
    #[cfg(debug_assertions)]
    leptos::mount::hydrate_body(App);
}
