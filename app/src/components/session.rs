//! The signed-in person, known to every page: the layout shows them and a Sign out button, and
//! pages show only what their role may do (the server checks again on every request).

use leptos::prelude::*;

use crate::api::{current_user, Me, Role, SignOut};

/// Who is signed in, read once per page load.
#[derive(Clone, Copy)]
pub struct Session(pub Resource<Result<Option<Me>, crate::error::AppError>>);

pub fn provide_session() -> Session {
    let session = Session(Resource::new(|| (), |_| current_user()));
    provide_context(session);
    session
}

/// Whether the signed-in person may do what `role` may (false while unknown).
pub fn may(role: Role) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let session = use_context::<Session>();
    move || {
        session.and_then(|s| s.0.try_get().flatten()).and_then(|r| r.ok()).flatten().is_some_and(|me| me.role.may(role))
    }
}

/// The signed-in person's name and role, and Sign out.
#[component]
pub fn SessionBadge() -> impl IntoView {
    let session = use_context::<Session>().expect("the layout provides the session");
    let sign_out = ServerAction::<SignOut>::new();
    let sign_out_value = sign_out.value();
    Effect::new(move |_| {
        if sign_out_value.try_get().flatten().is_some_and(|r| r.is_ok()) {
            go_to("/sign-in");
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || session.0.try_get().flatten().and_then(|r| r.ok()).flatten().map(|me| view! {
                <span class="session" data-test="session">
                    <span data-test="session-user">{me.name.clone()}</span>
                    " · "<span class="role" data-test="session-role">{me.role.as_str()}</span>" "
                    <button class="link" data-test="sign-out" on:click=move |_| { sign_out.dispatch(SignOut {}); }>"Sign out"</button>
                </span>
            })}
        </Transition>
    }
}

/// A full page load of `path` (so that the whole page is rendered for the new session).
pub fn go_to(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}
