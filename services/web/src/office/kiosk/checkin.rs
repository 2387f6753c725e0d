//! Checking a booked visit in at the kiosk: the booking code keypad (CI-16, the code
//! case-insensitive) or, in a city whose visits are known by the phone number, the phone
//! keypad (DG-4, DG-8: "+48 600-100-200" and "600100200" are 48600100200; one ticket per
//! check-in, the day's earliest visit not checked in yet).
//!
//! The keypad is a plain form: each key is a submit button whose POST answers the keypad with
//! the key added (nothing is stored between presses, the typed text travels in the form), so
//! it works without JavaScript; with it, kiosk.js types locally and only "Odbierz bilet"
//! posts. A physical keyboard types into the field either way, and Enter takes the ticket
//! (that button is the form's first).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use okienko_app::queue;
use okienko_domain::booking::{normalise_code, CODE_ALPHABET};
use okienko_domain::queue::normalize_phone_48;

use super::frame::{
    self, kiosk, office, refusal, start_path, with_lang, Entry, Frame, KioskPost, IDLE_ENTRY,
    IDLE_RESULT,
};
use super::nonce;
use super::start::StartQuery;
use crate::site::i18n::{Lang, Tr};
use crate::site::{html, see_other};
use crate::state::HttpState;

/// Characters kept of what was typed: a code with spaces or dashes, a phone number written
/// out with its country code.
const MAX_TYPED: usize = 20;

#[derive(Template)]
#[template(path = "office/kiosk/keypad.html")]
struct KeypadPage {
    f: Frame,
    phone: bool,
    hint: String,
    typed: String,
    error: Option<String>,
    keys: Vec<String>,
    nonce: String,
    post: String,
}

fn keys(entry: Entry) -> Vec<String> {
    match entry {
        Entry::Code => CODE_ALPHABET
            .iter()
            .map(|b| (*b as char).to_string())
            .collect(),
        Entry::Phone => "1234567890".chars().map(String::from).collect(),
    }
}

fn keypad(
    status: StatusCode,
    lang: Lang,
    t: &okienko_app::TenantCtx,
    entry: Entry,
    typed: String,
    error: Option<String>,
    nonce: String,
) -> Response {
    let tr = Tr::new(lang);
    let path = format!("{}/rezerwacja", start_path(t));
    let (title, hint) = match entry {
        Entry::Code => ("kiosk-code-title", "kiosk-code-hint"),
        Entry::Phone => ("kiosk-phone-title", "kiosk-phone-hint"),
    };
    let mut f = Frame::new(lang, t, &path, tr.t(title));
    let hint = format!(
        "{} {}",
        tr.t(hint),
        tr.t1(
            "kiosk-check-in-window",
            "minutes",
            &t.cfg.queue.check_in_before_minutes.to_string()
        )
    );
    f.idle = Some(if error.is_some() {
        IDLE_RESULT
    } else {
        IDLE_ENTRY
    });
    f.error = error.is_some();
    f.speak = [
        error.clone(),
        Some(frame::sentence(&f.title)),
        Some(hint.clone()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    html(
        status,
        &KeypadPage {
            f,
            phone: entry == Entry::Phone,
            hint,
            typed,
            error,
            keys: keys(entry),
            nonce,
            post: path,
        },
        &[],
        true,
    )
}

/// `GET /t/{slug}/kiosk/rezerwacja`: the keypad, empty.
pub async fn page(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    Query(q): Query<StartQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = frame::lang(q.lang.as_deref());
    let (t, _) = match kiosk(&s, &slug, lang, &headers).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let entry = Entry::of(&t);
    keypad(
        StatusCode::OK,
        lang,
        &t,
        entry,
        String::new(),
        None,
        nonce::fresh(),
    )
}

/// `POST /t/{slug}/kiosk/rezerwacja` (`typed`, `key` or `go`, `nonce`, `lang`): a key
/// pressed answers the keypad; `go` checks the visit in and leads to its ticket.
pub async fn submit(
    State(s): State<HttpState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let KioskPost {
        form,
        lang,
        t,
        device,
    } = match KioskPost::of(&s, &slug, &headers, &body).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let Some(o) = office(&t, &device) else {
        return see_other(&start_path(&t), &[]);
    };
    let entry = Entry::of(&t);
    let mut typed: String = form
        .get("typed")
        .map(|v| v.chars().take(MAX_TYPED).collect())
        .unwrap_or_default();
    let n = form
        .get("nonce")
        .filter(|n| nonce::valid(n))
        .cloned()
        .unwrap_or_else(nonce::fresh);
    if let (Some(k), None) = (form.get("key"), form.get("go")) {
        press(&mut typed, k, entry);
        return keypad(StatusCode::OK, lang, &t, entry, typed, None, n);
    }
    let what = match entry {
        Entry::Code => format!("code:{}", normalise_code(&typed)),
        Entry::Phone => format!(
            "phone:{}",
            normalize_phone_48(&typed).unwrap_or_else(|| typed.trim().to_string())
        ),
    };
    let issued = nonce::once(device.id, &n, what, async {
        match entry {
            Entry::Code => queue::check_in_by_code(&s.app, &t, o, &typed).await,
            Entry::Phone => queue::check_in_by_phone(&s.app, &t, o, &typed).await,
        }
        .map(|row| row.id)
    })
    .await;
    match issued {
        Ok(id) => see_other(
            &with_lang(&format!("{}/bilet/{id}", start_path(&t)), lang),
            &[],
        ),
        Err(e) => {
            let text = refusal(&s, &t, o, Tr::new(lang), &e.domain(), entry);
            keypad(
                StatusCode::UNPROCESSABLE_ENTITY,
                lang,
                &t,
                entry,
                typed,
                Some(text),
                n,
            )
        }
    }
}

/// A key of the keypad: one of its characters, `back` or `clear`.
fn press(typed: &mut String, key: &str, entry: Entry) {
    match key {
        "back" => {
            typed.pop();
        }
        "clear" => typed.clear(),
        k if keys(entry).iter().any(|x| x == k) && typed.chars().count() < MAX_TYPED => {
            typed.push_str(k)
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_type_delete_and_clear() {
        let mut t = String::from("ac");
        press(&mut t, "D", Entry::Code);
        assert_eq!(t, "acD");
        press(&mut t, "0", Entry::Code);
        press(&mut t, "<script>", Entry::Code);
        assert_eq!(t, "acD", "no look-alike 0, nothing else");
        press(&mut t, "back", Entry::Code);
        assert_eq!(t, "ac");
        press(&mut t, "0", Entry::Phone);
        assert_eq!(t, "ac0");
        press(&mut t, "clear", Entry::Phone);
        assert_eq!(t, "");
        let mut long = "6".repeat(MAX_TYPED);
        press(&mut long, "1", Entry::Phone);
        assert_eq!(long.len(), MAX_TYPED);
    }
}
