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
    lazy_route, path, Lazy, LazyRoute,
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
                    <Route path=path!("/history") view={Lazy::<History>::new()}/>
                    <Route path=path!("/data") view={Lazy::<Data>::new()}/>
                    <Route path=path!("/compare") view={Lazy::<Compare>::new()}/>
                    <Route path=path!("/runs/:id") view={Lazy::<RunDetail>::new()}/>
                    <Route path=path!("/settings") view={Lazy::<Settings>::new()}/>
                    <Route path=path!("/audit") view={Lazy::<Audit>::new()}/>
                    <Route path=path!("/users") view={Lazy::<Users>::new()}/>
                    <Route path=path!("/tokens") view={Lazy::<Tokens>::new()}/>
                    <Route path=path!("/sign-in") view={Lazy::<SignIn>::new()}/>
                    <Route path=path!("/setup") view={Lazy::<Setup>::new()}/>
                </Routes>
            </Layout>
        </Router>
    }
}

/// A page whose code is loaded when it is first shown: the release build splits the wasm at each
/// (`cargo leptos build --split`), so that the first download holds the pipeline page and what
/// every page shares. Without the split (debug builds) it is one module.
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

/// Entry point of the wasm bundle: attaches the app to the server-rendered page (the form of
/// hydration that waits for a lazy page's code before it attaches that page).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(App);
}
