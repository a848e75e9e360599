//! New Batch's schedule on the Settings page: by hand only, or a cron expression in the job's
//! time zone, with the next times it runs in the user's own time zone; admins change it (through
//! API v2 on the job, as in CML).

use leptos::prelude::*;

use crate::api::{get_schedule, Role, SetSchedule};
use crate::components::format::when;
use crate::components::session::may;

#[component]
pub fn SchedulePanel() -> impl IntoView {
    let save = ServerAction::<SetSchedule>::new();
    // Taken now: `pending()`, `value()` and `version()` panic when called after a hung-up render
    // disposed the action; the signals read as `None` then.
    let (busy, value, version) = (save.pending(), save.value(), save.version());
    let schedule = Resource::new(move || version.try_get().unwrap_or_default(), |_| get_schedule());
    let cron = RwSignal::new(String::new());
    let admin = may(Role::Admin);
    view! {
        <section class="panel" data-test="schedule">
            <h2>"Schedule of New Batch"</h2>
            <Transition fallback=|| ()>
                {move || schedule.try_get().flatten().map(|r| match r {
                    Err(e) => view! { <p class="error-box">{e.to_string()}</p> }.into_any(),
                    Ok(None) => view! { <p data-test="schedule-now">"New Batch is not set up yet: create the jobs above first."</p> }.into_any(),
                    Ok(Some(s)) => {
                        cron.set(s.cron.clone());
                        let said = if s.cron.is_empty() {
                            "Runs by hand only (Run pipeline).".to_string()
                        } else {
                            format!("Runs on the cron schedule {:?} in {}{}.", s.cron, s.timezone, if s.paused { " (paused in the workspace)" } else { "" })
                        };
                        view! {
                            <p data-test="schedule-now">{said}</p>
                            {(!s.next.is_empty()).then(|| view! {
                                <p>"Next runs, in your time zone:"</p>
                                <ul data-test="schedule-next">{s.next.iter().map(|t| view! { <li><LocalTime utc=t.clone()/></li> }).collect_view()}</ul>
                            })}
                        }.into_any()
                    }
                })}
            </Transition>
            <Show when=admin>
                <form class="inline" on:submit=move |ev| { ev.prevent_default(); save.dispatch(SetSchedule { cron: cron.get_untracked() }); }>
                    <label for="schedule-cron">"Cron expression (minute hour day-of-month month day-of-week; empty: by hand only)"</label>
                    <input id="schedule-cron" placeholder="0 6 * * *" prop:value=move || cron.try_get().unwrap_or_default() on:input=move |ev| cron.set(event_target_value(&ev))/>
                    <button type="submit" data-test="schedule-save" disabled=move || busy.try_get().unwrap_or(false)>"Save schedule"</button>
                </form>
            </Show>
            {move || value.try_get().flatten().and_then(|r| r.err()).map(|e| view! { <p class="error-box" data-test="schedule-error">{e.to_string()}</p> })}
        </section>
    }
}

/// A UTC time, shown in the browser's own time zone once the page runs there (as UTC before).
#[component]
pub fn LocalTime(utc: String) -> impl IntoView {
    let shown = RwSignal::new(when(&utc));
    #[cfg(feature = "hydrate")]
    Effect::new({
        let utc = utc.clone();
        move |_| {
            let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&utc));
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&options, &"timeZoneName".into(), &"short".into());
            let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
            let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
            let local: String = date.to_locale_string("default", &options).into();
            shown.set(local);
        }
    });
    view! { <time datetime=utc>{move || shown.try_get().unwrap_or_default()}</time> }
}
