//! The displays' events and their fan-out per office ([`Bus`]), across servers on PostgreSQL.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Utc};
use okienko_domain::queue::voice_text;
use okienko_store::TicketRow;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use super::lookup::queue_name;
use crate::catalog::TenantCtx;

/// Events kept per office for a display that is slow to read.
pub(crate) const BUS_CAPACITY: usize = 256;

// ---------------------------------------------------------------------------------------------

// Displays' events

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The subscription is live; what happened before is in the board query.
    Connected,
    Called,
    Recalled,
    /// The ticket left the display (served, void, transferred, refused).
    Cleared,
}

/// What a call display of an office is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardEvent {
    pub kind: EventKind,
    pub ticket: Option<BoardTicket>,
    pub queue_name: Option<String>,
    pub at: DateTime<Utc>,
}

/// What a display shows of a ticket (nothing of the client's or the booking's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardTicket {
    /// As printed and shown: A001.
    pub label: String,
    /// The queue's letter.
    pub queue: String,
    pub desk: Option<i64>,
    pub call_count: i64,
}

impl From<&TicketRow> for BoardTicket {
    fn from(t: &TicketRow) -> Self {
        BoardTicket {
            label: t.label.clone(),
            queue: t.queue.clone(),
            desk: t.desk,
            call_count: t.call_count,
        }
    }
}

impl BoardEvent {
    pub fn voice_text(&self) -> Option<String> {
        match (self.kind, &self.ticket) {
            (EventKind::Called | EventKind::Recalled, Some(t)) => {
                Some(voice_text(&t.label, t.desk.unwrap_or_default()))
            }
            _ => None,
        }
    }
}

/// A board event with the office it is for: what goes from one server to the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeEvent {
    pub tenant: i64,
    pub office: i64,
    pub event: BoardEvent,
}

/// Fan-out of board events to this process's displays, one channel per (tenant, office).
#[derive(Default)]
pub struct Bus {
    channels: Mutex<HashMap<(i64, i64), broadcast::Sender<BoardEvent>>>,
    /// Where events published here also go, for the other servers (see `replicate`).
    outbound: OnceLock<mpsc::UnboundedSender<OfficeEvent>>,
}

impl Bus {
    /// An event of this process: to its displays of the office and, when replicated, to the
    /// other servers' displays.
    pub fn publish(&self, tenant: &TenantCtx, office_id: i64, event: BoardEvent) {
        if let Some(tx) = self.outbound.get() {
            // The receiver lives as long as the server; after it stops nothing is sent.
            let _ = tx.send(OfficeEvent {
                tenant: tenant.id.0,
                office: office_id,
                event: event.clone(),
            });
        }
        self.deliver(tenant.id.0, office_id, event);
    }

    /// An event to this process's displays of the office only: one another server published.
    pub fn deliver(&self, tenant_id: i64, office_id: i64, event: BoardEvent) {
        let Ok(mut map) = self.channels.lock() else {
            return;
        };
        let key = (tenant_id, office_id);
        if let Some(tx) = map.get(&key) {
            if tx.send(event).is_err() {
                // Nobody listens any more.
                map.remove(&key);
            }
        }
    }

    /// From now on every event published here is also handed, in order, to the returned
    /// receiver (for the other servers). None when it was asked for before: there is one.
    pub fn replicate(&self) -> Option<mpsc::UnboundedReceiver<OfficeEvent>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.outbound.set(tx).ok()?;
        Some(rx)
    }

    pub fn subscribe(&self, tenant: &TenantCtx, office_id: i64) -> broadcast::Receiver<BoardEvent> {
        let mut map = match self.channels.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry((tenant.id.0, office_id))
            .or_insert_with(|| broadcast::channel(BUS_CAPACITY).0)
            .subscribe()
    }
}

pub(crate) fn event(
    kind: EventKind,
    tenant: &TenantCtx,
    t: &TicketRow,
    now: DateTime<Utc>,
) -> BoardEvent {
    BoardEvent {
        kind,
        queue_name: queue_name(tenant, t.office_id, &t.queue),
        ticket: Some(t.into()),
        at: now,
    }
}

// ---------------------------------------------------------------------------------------------
