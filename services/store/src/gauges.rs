//! What the metrics' gauges read from the database (docs/metrics.md): the outbox backlog, the
//! queues' waiting tickets and the pools. Read by a periodic task, never on a scrape (the pools
//! aside: they are the process's own counts).

use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::schema::{outbox, tickets};
use crate::{on_read, Db, Result};

/// Due messages of one channel: how many, and the earliest `next_attempt_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxDue {
    pub channel: String,
    pub due: i64,
    pub oldest_due_at: Option<i64>,
}

/// Messages pending and due at `now`, per channel (claimed ones included: not sent yet).
pub async fn outbox_due(db: &Db, now: i64) -> Result<Vec<OutboxDue>> {
    let rows: Vec<(String, i64, Option<i64>)> = on_read!(db, c => outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::next_attempt_at.le(now))
        .group_by(outbox::channel)
        .select((outbox::channel, count_star(), min(outbox::next_attempt_at)))
        .load(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|(channel, due, oldest_due_at)| OutboxDue {
            channel,
            due,
            oldest_due_at,
        })
        .collect())
}

/// The tickets of one queue of one office waiting on `day`: how many, the earliest arrival.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueWaiting {
    pub tenant_id: i64,
    pub office_id: i64,
    pub queue: String,
    pub waiting: i64,
    pub oldest_arrived_at: i64,
}

/// Every queue with a ticket waiting on the local `day` (YYYY-MM-DD), across tenants.
pub async fn queue_waiting(db: &Db, day: &str) -> Result<Vec<QueueWaiting>> {
    let rows: Vec<(i64, i64, String, i64, i64)> = on_read!(db, c => tickets::table
        .filter(tickets::day.eq(day))
        .filter(tickets::state.eq("waiting"))
        .group_by((tickets::tenant_id, tickets::office_id, tickets::queue))
        .select((
            tickets::tenant_id,
            tickets::office_id,
            tickets::queue,
            count_star(),
            // A group has a row: its earliest arrival is never NULL.
            min(tickets::arrived_at).assume_not_null(),
        ))
        .load(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(
            |(tenant_id, office_id, queue, waiting, oldest_arrived_at)| QueueWaiting {
                tenant_id,
                office_id,
                queue,
                waiting,
                oldest_arrived_at,
            },
        )
        .collect())
}

/// One pool's connections now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// `postgres`, `sqlite_write` or `sqlite_read`.
    pub pool: &'static str,
    pub idle: u32,
    pub in_use: u32,
    pub max: u32,
}

fn use_of<M: deadpool::managed::Manager>(
    pool: &'static str,
    p: &deadpool::managed::Pool<M>,
) -> PoolUse {
    let status = p.status();
    let size = u32::try_from(status.size).unwrap_or(u32::MAX);
    let idle = u32::try_from(status.available)
        .unwrap_or(u32::MAX)
        .min(size);
    PoolUse {
        pool,
        idle,
        in_use: size - idle,
        max: u32::try_from(status.max_size).unwrap_or(u32::MAX),
    }
}

impl Db {
    /// The pools' connections now (no query: the pools' own counts).
    pub fn pool_use(&self) -> Vec<PoolUse> {
        match self {
            Db::Pg(p) => vec![use_of("postgres", p)],
            Db::Sqlite { write, read } => {
                vec![use_of("sqlite_write", write), use_of("sqlite_read", read)]
            }
        }
    }
}
