//! The people who sign in (admins): add a user, change a role, disable an account (its sessions
//! and tokens stop at once). Every change is audited by the server.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{list_users, AddUser, Role, UpdateUser, UserView};
use crate::components::format::when_opt;

fn role_options(selected: Role) -> impl IntoView {
    Role::ALL.iter().map(|r| view! { <option value=r.as_str() selected=*r == selected>{r.as_str()}</option> }).collect_view()
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let add = ServerAction::<AddUser>::new();
    // Its signals, taken now: `pending()`, `value()` and `version()` panic when called after a
    // hung-up render disposed the action; the signals read as `None` then.
    let add_busy = add.pending();
    let add_version = add.version();
    let add_value = add.value();
    let update = ServerAction::<UpdateUser>::new();
    let update_version = update.version();
    let update_value = update.value();
    let users = Resource::new(move || (add_version.try_get().unwrap_or_default(), update_version.try_get().unwrap_or_default()), |_| list_users());
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Viewer);
    view! {
        <Title text="Users"/>
        <h1>"Users"</h1>
        <section class="panel">
            <h2>"Add a user"</h2>
            <form class="settings" data-test="add-user" on:submit=move |ev| {
                ev.prevent_default();
                add.dispatch(AddUser { name: name.get_untracked(), role: role.get_untracked(), password: password.get_untracked() });
            }>
                <label for="user-name">"Name"</label>
                <input id="user-name" autocomplete="off" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="user-role">"Role"</label>
                <select id="user-role" on:change=move |ev| if let Ok(r) = event_target_value(&ev).parse() { role.set(r) }>{role_options(Role::Viewer)}</select>
                <label for="user-password">"First password"</label>
                <input id="user-password" type="password" autocomplete="new-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                <button type="submit" class="primary" data-test="add-user-submit" disabled=move || add_busy.try_get().unwrap_or(false)>"Add user"</button>
            </form>
            {move || add_value.try_get().flatten().map(|r| match r {
                Ok(user) => view! { <p class="ok-box">{format!("Added {} ({}).", user.name, user.role)}</p> }.into_any(),
                Err(e) => view! { <p class="error-box" data-test="add-user-error">{e.to_string()}</p> }.into_any(),
            })}
        </section>
        <section class="panel">
            <h2>"Accounts"</h2>
            {move || update_value.try_get().flatten().and_then(|r| r.err()).map(|e| view! { <p class="error-box" data-test="update-user-error">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || users.try_get().flatten().map(|result| match result {
                    Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                    Ok(users) => view! {
                        <table class="history" data-test="users">
                            <thead><tr><th>"Name"</th><th>"Role"</th><th>"Since"</th><th>"Signs in"</th><th></th></tr></thead>
                            <tbody>{users.into_iter().map(|u| view! { <UserRow user=u update=update/> }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn UserRow(user: UserView, update: ServerAction<UpdateUser>) -> impl IntoView {
    let role = RwSignal::new(user.role);
    let name = user.name.clone();
    let save = move |disabled: bool| {
        update.dispatch(UpdateUser { name: name.clone(), role: role.get_untracked(), disabled });
    };
    let (save_role, toggle) = (save.clone(), save);
    let disabled = user.disabled;
    view! {
        <tr data-test="user-row" class:revoked=disabled>
            <td data-test="user-name">{user.name.clone()}</td>
            <td>
                <select aria-label="Role" data-test="user-role" on:change=move |ev| {
                    if let Ok(r) = event_target_value(&ev).parse() {
                        role.set(r);
                        save_role(disabled);
                    }
                }>{role_options(user.role)}</select>
            </td>
            <td>{when_opt(&Some(user.created_at.clone()))}</td>
            <td>{if disabled { "disabled" } else if user.proxy_only { "through the proxy" } else { "with a password" }}</td>
            <td>
                <button class=if disabled { "" } else { "danger" } data-test="toggle-user" on:click=move |_| toggle(!disabled)>
                    {if disabled { "Enable" } else { "Disable" }}
                </button>
            </td>
        </tr>
    }
}
