//! API tokens for scripts and `lakeline run`: make one (shown once), see when each was last
//! used, revoke. Everyone manages their own; admins see and manage everyone's.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{list_tokens, CreateToken, RevokeToken, Role};
use crate::components::format::when_opt;
use crate::components::session::may;

#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    // Actions' signals, taken now: `pending()`, `value()` and `version()` panic when called after a
    // hung-up render disposed the actions; the signals read as `None` then.
    let create_busy = create.pending();
    let create_version = create.version();
    let create_value = create.value();
    let revoke = ServerAction::<RevokeToken>::new();
    let revoke_busy = revoke.pending();
    let revoke_version = revoke.version();
    let revoke_value = revoke.value();
    let tokens = Resource::new(move || (create_version.try_get().unwrap_or_default(), revoke_version.try_get().unwrap_or_default()), |_| list_tokens());
    let admin = may(Role::Admin);
    let name = RwSignal::new(String::new());
    let owner = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Viewer);
    view! {
        <Title text="API tokens"/>
        <h1>"API tokens"</h1>
        <section class="panel">
            <h2>"New token"</h2>
            <p>"A token signs a script in as you (or, for admins, as another user) with a role no higher than its owner's. "
               "Use it as " <code>"Authorization: Bearer llt_…"</code> " with the REST API (" <a href="/api/v1/openapi.json">"OpenAPI"</a>
               "), or as " <code>"LAKELINE_TOKEN"</code> " for " <code>"lakeline run --wait"</code> "."</p>
            <form class="settings" data-test="new-token" on:submit=move |ev| {
                ev.prevent_default();
                create.dispatch(CreateToken { owner: owner.get_untracked(), name: name.get_untracked(), role: role.get_untracked() });
            }>
                <label for="token-name">"What it is for"</label>
                <input id="token-name" placeholder="nightly CI" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="token-role">"Role"</label>
                <select id="token-role" on:change=move |ev| if let Ok(r) = event_target_value(&ev).parse() { role.set(r) }>
                    {Role::ALL.iter().map(|r| view! { <option value=r.as_str() selected=move || role.get() == *r>{r.as_str()}</option> }).collect_view()}
                </select>
                <Show when=admin>
                    <label for="token-owner">"For user (empty: you)"</label>
                    <input id="token-owner" prop:value=move || owner.get() on:input=move |ev| owner.set(event_target_value(&ev))/>
                </Show>
                <button type="submit" class="primary" data-test="create-token" disabled=move || create_busy.try_get().unwrap_or(false)>"Make token"</button>
            </form>
            {move || create_value.try_get().flatten().map(|result| match result {
                Ok(made) => view! {
                    <div class="ok-box" data-test="new-token-secret">
                        <p>{format!("Token “{}” for {} ({}). Copy it now: it is not shown again.", made.token.name, made.token.owner, made.token.role)}</p>
                        <code class="secret">{made.secret}</code>
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="error-box" data-test="token-error">{e.to_string()}</p> }.into_any(),
            })}
        </section>
        <section class="panel">
            <h2>"Tokens"</h2>
            {move || revoke_value.try_get().flatten().and_then(|r| r.err()).map(|e| view! { <p class="error-box">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || tokens.try_get().flatten().map(|result| match result {
                    Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                    Ok(tokens) if tokens.is_empty() => view! { <p class="empty">"No tokens yet."</p> }.into_any(),
                    Ok(tokens) => view! {
                        <table class="history" data-test="tokens">
                            <thead><tr><th>"Token"</th><th>"For"</th><th>"Owner"</th><th>"Role"</th><th>"Made"</th><th>"Last used"</th><th></th></tr></thead>
                            <tbody>
                                {tokens.into_iter().map(|t| {
                                    let id = t.id;
                                    let revoked = t.revoked_at.clone();
                                    let is_revoked = revoked.is_some();
                                    view! {
                                        <tr data-test="token-row" class:revoked=is_revoked>
                                            <td class="mono">{format!("{}…", t.prefix)}</td><td>{t.name}</td><td>{t.owner}</td><td>{t.role.as_str()}</td>
                                            <td>{when_opt(&Some(t.created_at))}" by "{t.created_by}</td><td>{when_opt(&t.last_used_at)}</td>
                                            <td>{match revoked {
                                                at @ Some(_) => view! { <span>{format!("revoked {}", when_opt(&at))}</span> }.into_any(),
                                                None => view! {
                                                    <button class="danger" data-test="revoke-token" disabled=move || revoke_busy.try_get().unwrap_or(false)
                                                        on:click=move |_| { revoke.dispatch(RevokeToken { id }); }>"Revoke"</button>
                                                }.into_any(),
                                            }}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
