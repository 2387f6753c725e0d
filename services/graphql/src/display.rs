//! The call displays' API (CI-7): a device token of kind display, bound to one office.
//! `board` (over `POST /t/{slug}/display/graphql` or the WebSocket) is what the display shows
//! now — for a display that (re)connects; the `events` subscription over the WebSocket at
//! `/t/{slug}/display/ws` (graphql-transport-ws or graphql-ws; the token in the
//! `connection_init` payload as `token` or `Authorization: "Bearer …"`, or as the `token`
//! query parameter) brings every call, recall and clearing of the office as it happens, with
//! the Polish text of the voice call.

use std::sync::Arc;

use async_graphql::{
    Context, EmptyMutation, Enum, Object, Result, Schema, SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, Stream, StreamExt};
use okienko_app::records::{self, TicketRow};
use okienko_domain::queue::{day_key, voice_text};
use tokio::sync::broadcast::error::RecvError;

use crate::ctx::{app, tenant};
use crate::gql_errors::OrGql;
use crate::kiosk::device_office;
use okienko_app::auth::{ts, DeviceKind};
use okienko_app::catalog::TenantCtx;
use okienko_app::queue::{self, BoardEvent, Bus, EventKind};

pub type DisplaySchema = Schema<Query, EmptyMutation, Subscription>;

/// Calls shown on the board at most.
const BOARD_SIZE: i64 = 12;

pub fn schema() -> DisplaySchema {
    crate::query_limits::limited(Query, EmptyMutation, Subscription)
}

/// The SDL as checked in at `schema/display.graphql`.
pub fn sdl() -> String {
    crate::ctx::sorted_sdl(&schema())
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum BoardEventKind {
    /// The subscription is live; load `board` for what was called before.
    Connected,
    /// A ticket called to a desk: show it and speak `voiceText`.
    Called,
    /// Called again (CI-8).
    Recalled,
    /// The ticket left the board (served, void, transferred or refused).
    Cleared,
}

impl From<EventKind> for BoardEventKind {
    fn from(k: EventKind) -> Self {
        match k {
            EventKind::Connected => BoardEventKind::Connected,
            EventKind::Called => BoardEventKind::Called,
            EventKind::Recalled => BoardEventKind::Recalled,
            EventKind::Cleared => BoardEventKind::Cleared,
        }
    }
}

#[derive(SimpleObject)]
pub struct DisplayEvent {
    kind: BoardEventKind,
    /// The ticket number, e.g. A023.
    number: Option<String>,
    desk: Option<i64>,
    /// The queue's letter.
    queue: Option<String>,
    queue_name: Option<String>,
    /// How many times it has been called.
    call_count: Option<i64>,
    /// What the voice says, e.g. "Numer A 0 2 3, stanowisko 4" (CI-7).
    voice_text: Option<String>,
    at: DateTime<Utc>,
}

impl From<BoardEvent> for DisplayEvent {
    fn from(e: BoardEvent) -> Self {
        let voice = e.voice_text();
        let t = e.ticket.as_ref();
        DisplayEvent {
            kind: e.kind.into(),
            number: t.map(|t| t.label.clone()),
            desk: t.and_then(|t| t.desk),
            queue: t.map(|t| t.queue.clone()),
            queue_name: e.queue_name,
            call_count: t.map(|t| t.call_count),
            voice_text: voice,
            at: e.at,
        }
    }
}

/// A ticket on the board.
#[derive(SimpleObject)]
pub struct BoardCall {
    number: String,
    desk: Option<i64>,
    queue: String,
    queue_name: Option<String>,
    /// The client is at the desk already.
    serving: bool,
    call_count: i64,
    called_at: Option<DateTime<Utc>>,
    voice_text: Option<String>,
}

#[derive(SimpleObject)]
pub struct Board {
    office_name: String,
    /// Called and served tickets, latest call first.
    calls: Vec<BoardCall>,
}

fn board_call(t: &TenantCtx, row: TicketRow) -> BoardCall {
    BoardCall {
        queue_name: queue::queue_name(t, row.office_id, &row.queue),
        serving: row.state == "serving",
        call_count: row.call_count,
        called_at: row.last_called_at.map(ts),
        voice_text: row.desk.map(|d| voice_text(&row.label, d)),
        desk: row.desk,
        number: row.label,
        queue: row.queue,
    }
}

pub struct Query;

#[Object]
impl Query {
    /// What the office's display shows now.
    async fn board(&self, ctx: &Context<'_>) -> Result<Board> {
        let t = tenant(ctx);
        let o = device_office(ctx, &t, DeviceKind::Display)?;
        let a = app(ctx);
        let day = day_key(a.clock.now());
        let rows = records::board_tickets(a, t.id, o.id, &day, BOARD_SIZE)
            .await
            .gql()?;
        Ok(Board {
            office_name: o.cfg.name.clone(),
            calls: rows.into_iter().map(|r| board_call(&t, r)).collect(),
        })
    }
}

pub struct Subscription;

#[Subscription]
impl Subscription {
    /// The office's calls as they happen; first a CONNECTED event once the subscription is live.
    async fn events(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = DisplayEvent>> {
        let t = tenant(ctx);
        let o = device_office(ctx, &t, DeviceKind::Display)?;
        let bus = ctx.data_unchecked::<Arc<Bus>>();
        let rx = bus.subscribe(&t, o.id);
        let connected = BoardEvent {
            kind: EventKind::Connected,
            ticket: None,
            queue_name: None,
            at: app(ctx).clock.now(),
        };
        let live = stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(e) => return Some((e, rx)),
                    // A display too slow to keep up misses events; `board` catches it up.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        });
        Ok(stream::once(async move { connected })
            .chain(live)
            .map(DisplayEvent::from))
    }
}
