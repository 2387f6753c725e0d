//! Delivers the outbox: claims due rows, sends them, records the outcome, retries with backoff.

use std::sync::Arc;
use std::time::Duration;

use okienko_domain::clock::Clock;
use okienko_store::{
    claim_due_for, mark_failed, mark_sent, release_claims_of, renew_claims, Db, OutboxRow,
    StoreError,
};
use tokio::sync::{watch, Notify};

use crate::email::EmailBackend;
use crate::message::Message;
use crate::sms::SmsProvider;

/// After this many failed attempts a message is marked failed and left for an operator.
pub const MAX_ATTEMPTS: i64 = 10;
/// How long a claimed message is reserved for the worker that claimed it. The worker renews
/// its claims every third of it while it delivers, so a claim outlives its worker by at most
/// this long: a replica killed mid-delivery leaves its messages to the others within it.
pub const LEASE_SECONDS: i64 = 30;
/// Messages claimed at once.
const BATCH: i64 = 20;

#[derive(Clone)]
pub struct Deliverer {
    pub db: Db,
    pub email: EmailBackend,
    pub sms: Arc<dyn SmsProvider>,
    pub default_from: String,
    pub clock: Arc<dyn Clock>,
    /// This worker's name on its claims (random per process).
    pub worker: String,
    /// Told of every attempt and round, for the metrics (`okienko_app::metrics`); none in
    /// tests that do not look.
    pub observer: Option<Arc<dyn Observer>>,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// Failed; tried again later.
    Retry,
    /// Failed for the last time: given up.
    Failed,
}

/// What the worker reports as it goes (docs/metrics.md, "Outbox" and "Workers").
pub trait Observer: Send + Sync {
    /// One attempt at one message of `tenant_id` on `channel` (`email`, `sms`), how long it took.
    fn attempt(&self, tenant_id: i64, channel: &str, took: Duration, outcome: Attempt);
    /// One round of claiming and delivering ended, with or without a database error.
    fn round(&self, ok: bool);
}

/// A name for this process's outbox worker on its claims.
pub fn worker_name() -> String {
    format!("{}-{:016x}", std::process::id(), rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // A randomly keyed hasher: a random value without another dependency.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish()
}

/// Seconds until the next try after `attempts` failures: 30 s doubling, at most an hour.
pub fn backoff(attempts: i64) -> i64 {
    (30_i64 << attempts.clamp(0, 7)).min(3600)
}

impl Deliverer {
    /// Delivers what is due now; returns how many messages were attempted.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        self.deliver_due_until(&watch::channel(false).1).await
    }

    /// As [`Self::deliver_due`], but once `stop` turns true the row being delivered is finished
    /// and the others claimed are given back (issue 15: the worker stops after its current row).
    async fn deliver_due_until(&self, stop: &watch::Receiver<bool>) -> Result<usize, StoreError> {
        let now = self.clock.now().timestamp();
        let rows = claim_due_for(&self.db, &self.worker, now, LEASE_SECONDS, BATCH).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        tokio::select! {
            r = self.deliver_rows(&rows, stop) => r?,
            r = self.renew_while_delivering() => r?,
        }
        Ok(rows.len())
    }

    /// Renews this worker's claims every third of the lease; runs until dropped (or fails).
    async fn renew_while_delivering(&self) -> Result<(), StoreError> {
        let every = Duration::from_secs((LEASE_SECONDS / 3).max(1) as u64);
        loop {
            tokio::time::sleep(every).await;
            let until = self.clock.now().timestamp() + LEASE_SECONDS;
            renew_claims(&self.db, &self.worker, until).await?;
        }
    }

    async fn deliver_rows(
        &self,
        rows: &[OutboxRow],
        stop: &watch::Receiver<bool>,
    ) -> Result<(), StoreError> {
        for row in rows {
            if *stop.borrow() {
                let given_back = release_claims_of(&self.db, &self.worker).await?;
                tracing::info!(
                    given_back,
                    "outbox worker stopping: claimed messages given back"
                );
                return Ok(());
            }
            let began = std::time::Instant::now();
            let sent = self.deliver(row).await;
            let took = began.elapsed();
            match sent {
                Ok(()) => {
                    self.observe(row, took, Attempt::Delivered);
                    mark_sent(&self.db, row.id, self.clock.now().timestamp()).await?
                }
                Err(e) => {
                    let attempts = row.attempts + 1;
                    let retry = (attempts < MAX_ATTEMPTS)
                        .then(|| self.clock.now().timestamp() + backoff(attempts));
                    let outcome = match retry {
                        Some(_) => Attempt::Retry,
                        None => Attempt::Failed,
                    };
                    self.observe(row, took, outcome);
                    tracing::warn!(outbox = row.id, tenant = row.tenant_id, attempts, error = %e, "delivery failed");
                    mark_failed(&self.db, row.id, &e, retry).await?;
                }
            }
        }
        Ok(())
    }

    fn observe(&self, row: &OutboxRow, took: Duration, outcome: Attempt) {
        if let Some(o) = &self.observer {
            o.attempt(row.tenant_id, &row.channel, took, outcome);
        }
    }

    #[tracing::instrument(name = "outbox.deliver", skip_all, fields(outbox = row.id, channel = %row.channel))]
    async fn deliver(&self, row: &OutboxRow) -> Result<(), String> {
        let m: Message = serde_json::from_str(&row.payload_json).map_err(|e| e.to_string())?;
        match row.channel.as_str() {
            "email" => self
                .email
                .send(row, &m, &self.default_from)
                .await
                .map_err(|e| e.to_string()),
            "sms" => self
                .sms
                .send(&m.to, &m.text)
                .await
                .map_err(|e| e.to_string()),
            other => Err(format!("unknown channel {other}")),
        }
    }

    /// Runs until `shutdown` turns true: delivers whenever woken, and at least every `every`.
    pub async fn run(
        self,
        wake: Arc<Notify>,
        mut shutdown: watch::Receiver<bool>,
        every: Duration,
    ) {
        loop {
            loop {
                if *shutdown.borrow() {
                    return;
                }
                let round = self.deliver_due_until(&shutdown).await;
                if let Some(o) = &self.observer {
                    o.round(round.is_ok());
                }
                match round {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::error!(error = %e, "outbox worker");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), 60);
        assert_eq!(backoff(2), 120);
        assert_eq!(backoff(20), 3600);
    }
}
