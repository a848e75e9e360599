//! Signing in, and the one-time set-up of the first admin.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{needs_first_admin, CreateFirstAdmin, SignIn};
use crate::components::session::go_to;

/// Where to go after signing in: a path on this site only.
fn next_page(next: Option<String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//")).unwrap_or_else(|| "/".into())
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let sign_in = ServerAction::<SignIn>::new();
    // Actions' signals, taken now: `pending()`, `value()` and `version()` panic when called after a
    // hung-up render disposed the actions; the signals read as `None` then.
    let sign_in_busy = sign_in.pending();
    let sign_in_value = sign_in.value();
    let first = Resource::new(|| (), |_| needs_first_admin());
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    Effect::new(move |_| {
        if sign_in_value.try_get().flatten().is_some_and(|r| r.is_ok()) {
            go_to(&next_page(query.get_untracked().get("next")));
        }
    });
    view! {
        <Title text="Sign in"/>
        <section class="panel narrow">
            <h1>"Sign in"</h1>
            <Transition fallback=|| ()>
                {move || first.try_get().flatten().and_then(|r| r.ok()).filter(|first| *first).map(|_| view! {
                    <p class="ok-box">"Lakeline has no users yet: " <a href="/setup">"create the first admin"</a> "."</p>
                })}
            </Transition>
            <form class="settings" data-test="sign-in" on:submit=move |ev| {
                ev.prevent_default();
                sign_in.dispatch(SignIn { name: name.get_untracked(), password: password.get_untracked() });
            }>
                <label for="name">"Name"</label>
                <input id="name" name="name" autocomplete="username" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password"
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                <button type="submit" class="primary" data-test="sign-in-submit" disabled=move || sign_in_busy.try_get().unwrap_or(false)>"Sign in"</button>
            </form>
            {move || sign_in_value.try_get().flatten().and_then(|r| r.err()).map(|e| view! { <p class="error-box" data-test="sign-in-error">{e.to_string()}</p> })}
        </section>
    }
}

/// The first admin: offered while Lakeline has no users, from this machine only.
#[component]
pub fn SetupPage() -> impl IntoView {
    let create = ServerAction::<CreateFirstAdmin>::new();
    let create_busy = create.pending();
    let create_value = create.value();
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let mismatch = RwSignal::new(false);
    Effect::new(move |_| {
        if create_value.try_get().flatten().is_some_and(|r| r.is_ok()) {
            go_to("/settings");
        }
    });
    view! {
        <Title text="Set up"/>
        <section class="panel narrow">
            <h1>"Create the first admin"</h1>
            <p>"Lakeline has no users yet. The first one is an admin, who can then add the others (or run "
               <code>"lakeline user add NAME --role viewer|operator|admin"</code>")."</p>
            <form class="settings" data-test="setup" on:submit=move |ev| {
                ev.prevent_default();
                let matches = password.get_untracked() == again.get_untracked();
                mismatch.set(!matches);
                if matches {
                    create.dispatch(CreateFirstAdmin { name: name.get_untracked(), password: password.get_untracked() });
                }
            }>
                <label for="name">"Name"</label>
                <input id="name" name="name" autocomplete="username" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="password">"Password (at least 10 characters)"</label>
                <input id="password" type="password" autocomplete="new-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                <label for="again">"Password again"</label>
                <input id="again" type="password" autocomplete="new-password" prop:value=move || again.get() on:input=move |ev| again.set(event_target_value(&ev))/>
                <button type="submit" class="primary" data-test="setup-submit" disabled=move || create_busy.try_get().unwrap_or(false)>"Create admin and sign in"</button>
            </form>
            <Show when=move || mismatch.get()><p class="error-box">"The two passwords differ."</p></Show>
            {move || create_value.try_get().flatten().and_then(|r| r.err()).map(|e| view! { <p class="error-box" data-test="setup-error">{e.to_string()}</p> })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn after_sign_in_only_this_site_s_pages_are_followed() {
        assert_eq!(super::next_page(Some("/history?status=failed".into())), "/history?status=failed");
        assert_eq!(super::next_page(Some("https://evil.example/".into())), "/");
        assert_eq!(super::next_page(Some("//evil.example/".into())), "/");
        assert_eq!(super::next_page(None), "/");
    }
}
