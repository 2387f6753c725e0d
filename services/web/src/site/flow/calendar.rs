//! The day and hour questions: a month view with the free days marked and the same days as
//! a plain list (CI-11), then the free hours grouped by part of the day, in Europe/Warsaw.

use super::*;
use okienko_app::usage_cache::ReadDeps;

pub struct DayCell {
    pub day: u32,
    pub value: String,
    pub label: String,
    pub free: bool,
}

pub struct Slot {
    pub id: String,
    pub value: String,
    pub time: String,
    pub checked: bool,
}

pub struct Part {
    pub title: String,
    pub slots: Vec<Slot>,
}

question_page! {
    DayPage("site/day.html") {
        month: String,
        weekdays: Vec<String>,
        weeks: Vec<Vec<Option<DayCell>>>,
        free: Vec<DayCell>,
        earlier: Option<String>,
        later: Option<String>,
        none_at_all: bool,
        error: Option<String>,
    }
}

question_page! {
    HourPage("site/hour.html") {
        day: String,
        parts: Vec<Part>,
        error: Option<String>,
    }
}

/// The months the window spans, as their first days.
pub(super) fn months(w: &BookingWindow) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = w.first_day.with_day(1).unwrap_or(w.first_day);
    while m <= w.last_day && out.len() < 24 {
        out.push(m);
        m = match m.checked_add_months(Months::new(1)) {
            Some(n) => n,
            None => break,
        };
    }
    out
}

/// The days of `month` within the window that have a free seat.
pub(super) async fn free_days(
    s: &HttpState,
    t: &TenantCtx,
    svc: &ServiceCtx,
    w: &BookingWindow,
    month: NaiveDate,
) -> Result<BTreeMap<NaiveDate, usize>, okienko_app::ApiError> {
    let end = month
        .checked_add_months(Months::new(1))
        .and_then(|n| n.pred_opt())
        .unwrap_or(month);
    let from = month.max(w.first_day);
    let to = end.min(w.last_day);
    if to < from {
        return Ok(BTreeMap::new());
    }
    booking::free_days(&s.app, t, &svc.id.to_string(), from, to).await
}

pub(super) async fn day_page(
    s: &HttpState,
    t: &TenantCtx,
    d: &Draft,
    asked: Option<&str>,
    a: Asked<'_>,
) -> Response {
    let tr = a.tr;
    let change = a.nav.change;
    let Some(svc) = service_of(t, d) else {
        return see_other(&url(t, Step::Service), a.cookies);
    };
    // A release sends everyone to the same day page: it is kept like an availability answer of
    // the API, for its minute and while the service's usage stands (a configuration reload
    // raises every usage generation too). The key holds all the page is drawn from besides the
    // city, the clock and the usage; a page with errors or cookies to set is never kept.
    let keep = a.cookies.is_empty() && d.errors.is_empty();
    let key = format!(
        "day-page|{}|{}|{}|{}|{}|{}",
        svc.id,
        a.chrome.lang,
        asked.unwrap_or("-"),
        d.day.map(|x| x.to_string()).unwrap_or_default(),
        a.nav.back.as_deref().unwrap_or("-"),
        change
    );
    let began = s.app.clock.now();
    if keep {
        let kept = s.app.usage_cache.answer(t.id, key.as_bytes(), began).await;
        if let Some(body) = kept.and_then(|b| String::from_utf8(b.to_vec()).ok()) {
            return html_body(StatusCode::OK, body, a.cookies, true);
        }
    }
    // Noted before the read: a change racing with it leaves the kept page stale, never wrong.
    let deps = ReadDeps::default();
    deps.note(t.id, svc.id);
    let w = BookingWindow::compute(&t.cfg.booking, &t.calendar(svc), began);
    let all = months(&w);
    let asked = asked
        .and_then(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok())
        .filter(|m| all.contains(m));
    // The month that opens: the one asked for, else the chosen day's, else the first with a
    // free slot (CI-11).
    let mut month = asked.or_else(|| {
        d.day
            .and_then(|x| x.with_day(1))
            .filter(|m| all.contains(m))
    });
    let mut free = BTreeMap::new();
    if let Some(m) = month {
        match free_days(s, t, svc, &w, m).await {
            Ok(f) => free = f,
            Err(e) => return error_response(t, tr, a.chrome, &e.domain()),
        }
    } else {
        for m in &all {
            match free_days(s, t, svc, &w, *m).await {
                Ok(f) if !f.is_empty() => {
                    free = f;
                    month = Some(*m);
                    break;
                }
                Ok(_) => {}
                Err(e) => return error_response(t, tr, a.chrome, &e.domain()),
            }
        }
    }
    let none_at_all = month.is_none();
    let month = month
        .or_else(|| all.first().copied())
        .unwrap_or(w.first_day);
    let cell = |date: NaiveDate| DayCell {
        day: date.day(),
        value: date.to_string(),
        label: date_long(&tr, t, date),
        free: free.contains_key(&date),
    };
    let mut weeks: Vec<Vec<Option<DayCell>>> = Vec::new();
    let mut week: Vec<Option<DayCell>> = (1..month.weekday().number_from_monday())
        .map(|_| None)
        .collect();
    let mut day = month;
    while day.month() == month.month() {
        week.push(Some(cell(day)));
        if week.len() == 7 {
            weeks.push(std::mem::take(&mut week));
        }
        day = match day.succ_opt() {
            Some(n) => n,
            None => break,
        };
    }
    if !week.is_empty() {
        while week.len() < 7 {
            week.push(None);
        }
        weeks.push(week);
    }
    let idx = all.iter().position(|m| *m == month);
    let link = |m: &NaiveDate| {
        format!(
            "{}?miesiac={}{}",
            url(t, Step::Day),
            m.format("%Y-%m"),
            if change { "&zmiana=1" } else { "" }
        )
    };
    let mut chrome = a.chrome;
    chrome.title = tr.t("day-title");
    let page = DayPage {
        month: format!("{} {}", tr.month(month.month()), month.year()),
        weekdays: (1..=7).map(|i| tr.weekday(i)).collect(),
        free: free.keys().map(|x| cell(*x)).collect(),
        weeks,
        earlier: idx
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| all.get(i))
            .map(link),
        later: idx.and_then(|i| all.get(i + 1)).map(link),
        none_at_all,
        error: take_error(d, "day"),
        chrome,
        nav: a.nav,
    };
    let Ok(body) = page.render() else {
        return html(StatusCode::OK, &page, a.cookies, true);
    };
    if keep {
        let ended = s.app.clock.now();
        let kept = Bytes::from(body.clone());
        s.app
            .usage_cache
            .keep_answer(t.id, Bytes::from(key), &deps, began, ended, kept)
            .await;
    }
    html_body(StatusCode::OK, body, a.cookies, true)
}

pub(super) async fn hour_page(s: &HttpState, t: &TenantCtx, d: &Draft, a: Asked<'_>) -> Response {
    let tr = a.tr;
    let (Some(svc), Some(day)) = (service_of(t, d), d.day) else {
        return see_other(&url(t, Step::Day), a.cookies);
    };
    let days = match booking::availability(&s.app, t, &svc.id.to_string(), day, day).await {
        Ok(x) => x,
        Err(e) => return error_response(t, tr, a.chrome, &e.domain()),
    };
    let mut morning = Vec::new();
    let mut afternoon = Vec::new();
    for (i, slot) in days
        .iter()
        .flat_map(|x| x.slots.iter())
        .filter(|x| x.remaining > 0)
        .enumerate()
    {
        let local = to_local(slot.start);
        let v = Slot {
            id: format!("hour-{i}"),
            value: slot.start.timestamp().to_string(),
            time: local.format("%H:%M").to_string(),
            checked: d.start == Some(slot.start.timestamp()),
        };
        if local.hour() < 12 {
            morning.push(v)
        } else {
            afternoon.push(v)
        }
    }
    let mut parts = Vec::new();
    if !morning.is_empty() {
        parts.push(Part {
            title: tr.t("hour-morning"),
            slots: morning,
        });
    }
    if !afternoon.is_empty() {
        parts.push(Part {
            title: tr.t("hour-afternoon"),
            slots: afternoon,
        });
    }
    a.show("hour-title", |chrome, nav| HourPage {
        day: date_long(&tr, t, day),
        parts,
        error: take_error(d, "hour-0"),
        chrome,
        nav,
    })
}

/// The day chosen, when it still has a free slot.
pub(super) async fn take_day(
    s: &HttpState,
    t: &TenantCtx,
    d: &mut Draft,
    form: &[(String, String)],
    tr: Tr,
) {
    let day = value(form, "day").and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok());
    let ok = match (day, service_of(t, d)) {
        (Some(day), Some(svc)) => {
            let free = booking::availability(&s.app, t, &svc.id.to_string(), day, day)
                .await
                .map(|x| x.iter().any(|x| x.slots.iter().any(|s| s.remaining > 0)))
                .unwrap_or(false);
            free.then_some(day)
        }
        _ => None,
    };
    match ok {
        Some(day) => {
            if d.day != Some(day) {
                d.day = Some(day);
                d.start = None;
            }
        }
        None => d.errors.push(("day".into(), tr.t("err-day"))),
    }
}

/// The hour chosen, when its slot is still free.
pub(super) async fn take_hour(
    s: &HttpState,
    t: &TenantCtx,
    d: &mut Draft,
    form: &[(String, String)],
    tr: Tr,
) {
    let start = value(form, "start").and_then(|v| v.parse::<i64>().ok());
    let ok = match (start, service_of(t, d), d.day) {
        (Some(st), Some(svc), Some(day)) => {
            booking::availability(&s.app, t, &svc.id.to_string(), day, day)
                .await
                .map(|x| {
                    x.iter().any(|x| {
                        x.slots
                            .iter()
                            .any(|s| s.start.timestamp() == st && s.remaining > 0)
                    })
                })
                .unwrap_or(false)
                .then_some(st)
        }
        _ => None,
    };
    match ok {
        Some(st) => d.start = Some(st),
        None => d.errors.push(("hour-0".into(), tr.t("err-hour"))),
    }
}
