//! Turns at running a city's policy script (issue 11): a bound on the script slots one city
//! may hold, fair turns between the cities waiting for a slot, a bound on how many of one
//! city's calls may wait, and a hold on a city whose calls keep reaching their budget's limits.
//!
//! Scripts run on blocking threads, at most one per core (the deadline then measures a
//! script's own run). Without more, one city's hostile script under load holds every slot and
//! every other city's bookings queue behind it. Here each city holds at most `per_tenant`
//! slots; a freed slot goes to the next city in turn that has a call waiting; a city with
//! `queue_per_tenant` calls waiting is refused at once; and a city whose calls end over their
//! budget (`PolicyError::OverBudget`) as often as `strikes` times more than they succeed is held
//! back for `hold` (doubling while it goes on, up to `max_hold`): its calls are refused with
//! `POLICY_THROTTLED` without running. Other cities are not touched.
//!
//! No crate offers a semaphore with per-key bounds and round-robin turns between keys, so the
//! queue is written here: one mutex over counters and queues of oneshot senders.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use okienko_domain::DomainError;
use okienko_store::TenantId;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// How script turns are shared; from the server's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Scripts running at once, all cities together (the cores).
    pub slots: usize,
    /// Of those, scripts of one city (`OKIENKO_POLICY_SLOTS_PER_TENANT`).
    pub per_tenant: usize,
    /// Calls of one city waiting for a slot; past it they are refused at once
    /// (`OKIENKO_POLICY_QUEUE_PER_TENANT`).
    pub queue_per_tenant: usize,
    /// Over-budget calls (net of successful ones, four of which cancel one) that put a city
    /// on hold.
    pub strikes: u32,
    /// The first hold; each following one doubles, up to `max_hold`.
    pub hold: Duration,
    pub max_hold: Duration,
}

/// Half the requests in flight: waiting for its script turns, one city never holds more of
/// them than that, however many of its clients come at once.
pub fn default_queue_per_tenant(max_in_flight: usize) -> usize {
    (max_in_flight / 2).max(1)
}
/// Requests the web handles at once when `OKIENKO_MAX_IN_FLIGHT` does not say: a release burst
/// of thousands of clients costs the memory of this many requests in progress (issue 6). Defined
/// here, where the policy turns per tenant derive from it; `okienko_web::admission` re-exports it.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 128;
pub const DEFAULT_STRIKES: u32 = 5;
pub const DEFAULT_HOLD: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_HOLD: Duration = Duration::from_secs(600);
/// A successful call cancels this fraction of a strike (one in four).
const SUCCESSES_PER_STRIKE: u32 = 4;

impl Default for Settings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Settings {
            slots: cores,
            per_tenant: default_per_tenant(cores),
            queue_per_tenant: default_queue_per_tenant(DEFAULT_MAX_IN_FLIGHT),
            strikes: DEFAULT_STRIKES,
            hold: DEFAULT_HOLD,
            max_hold: DEFAULT_MAX_HOLD,
        }
    }
}

/// Half the cores, at least one: a city never holds the whole machine.
pub fn default_per_tenant(cores: usize) -> usize {
    (cores / 2).max(1)
}

/// The slots and the cities' queues.
#[derive(Debug)]
pub struct Scheduler {
    settings: Settings,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    free: usize,
    cities: HashMap<TenantId, City>,
    /// Cities with calls waiting, in turn order.
    turns: VecDeque<TenantId>,
    next_ticket: u64,
}

#[derive(Debug, Default)]
struct City {
    running: usize,
    waiting: VecDeque<(u64, oneshot::Sender<()>)>,
    /// Strikes, in quarters: an over-budget call adds four, a successful one takes one off.
    score: u32,
    held_until: Option<Instant>,
    /// Holds in a row: each doubles the next.
    holds: u32,
}

/// How a call ended, as far as the city's share is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The script answered (accepting, refusing, or failing on its own mistake).
    Answered,
    /// The call reached a limit of its budget.
    OverBudget,
}

impl Scheduler {
    pub fn new(settings: Settings) -> Arc<Scheduler> {
        Arc::new(Scheduler {
            state: Mutex::new(State {
                free: settings.slots.max(1),
                ..State::default()
            }),
            settings,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Counters and queues, each change complete under the lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for one call of `tenant`'s script: at once, after the city's turn comes, or a
    /// refusal (`POLICY_THROTTLED`) when the city is on hold or has too many calls waiting.
    pub async fn slot(self: &Arc<Self>, tenant: TenantId) -> Result<Slot, DomainError> {
        let (ticket, rx) = {
            let mut guard = self.lock();
            let State {
                free,
                cities,
                turns,
                next_ticket,
            } = &mut *guard;
            let now = Instant::now();
            let city = cities.entry(tenant).or_default();
            if let Some(until) = city.held_until.filter(|u| *u > now) {
                return Err(throttled(until - now));
            }
            if city.waiting.is_empty() && city.running < self.settings.per_tenant && *free > 0 {
                city.running += 1;
                *free -= 1;
                return Ok(self.granted(tenant));
            }
            if city.waiting.len() >= self.settings.queue_per_tenant {
                return Err(throttled(Duration::from_secs(1)));
            }
            let (tx, rx) = oneshot::channel();
            let ticket = *next_ticket;
            *next_ticket += 1;
            city.waiting.push_back((ticket, tx));
            if !turns.contains(&tenant) {
                turns.push_back(tenant);
            }
            (ticket, rx)
        };
        let mut wait = Wait {
            scheduler: self,
            tenant,
            ticket,
            rx: Some(rx),
        };
        match wait.rx.as_mut() {
            Some(rx) => match rx.await {
                Ok(()) => {
                    wait.rx = None;
                    Ok(self.granted(tenant))
                }
                // The sender went without a slot: only when the scheduler is dropped.
                Err(_) => Err(throttled(Duration::from_secs(1))),
            },
            None => Err(throttled(Duration::from_secs(1))),
        }
    }

    fn granted(self: &Arc<Self>, tenant: TenantId) -> Slot {
        Slot {
            scheduler: self.clone(),
            tenant,
            outcome: None,
        }
    }

    /// Gives free slots to waiting calls, one city after another, each within its bound.
    fn dispatch(&self, s: &mut State) {
        let mut passed = 0;
        while s.free > 0 && passed < s.turns.len() {
            let Some(tenant) = s.turns.pop_front() else {
                break;
            };
            let Some(city) = s.cities.get_mut(&tenant) else {
                continue;
            };
            let mut gave = false;
            if city.running < self.settings.per_tenant {
                while let Some((_, tx)) = city.waiting.pop_front() {
                    if tx.send(()).is_ok() {
                        city.running += 1;
                        gave = true;
                        break;
                    }
                }
            }
            let still_waiting = !city.waiting.is_empty();
            if gave {
                s.free -= 1;
                passed = 0;
            } else {
                passed += 1;
            }
            if still_waiting {
                s.turns.push_back(tenant);
            }
        }
    }

    fn release(&self, tenant: TenantId, outcome: Option<Outcome>) {
        let mut guard = self.lock();
        let s = &mut *guard;
        s.free += 1;
        let city = s.cities.entry(tenant).or_default();
        city.running = city.running.saturating_sub(1);
        match outcome {
            Some(Outcome::OverBudget) => {
                city.score += SUCCESSES_PER_STRIKE;
                if city.score >= self.settings.strikes * SUCCESSES_PER_STRIKE {
                    let hold = self
                        .settings
                        .hold
                        .saturating_mul(1 << city.holds.min(16))
                        .min(self.settings.max_hold);
                    city.held_until = Some(Instant::now() + hold);
                    city.holds += 1;
                    city.score = 0;
                    tracing::warn!(
                        tenant = tenant.0,
                        hold_s = hold.as_secs(),
                        "the city's policy keeps exceeding its limits: its calls are held back"
                    );
                    // Those waiting are refused now rather than run after the hold began.
                    city.waiting.clear();
                }
            }
            Some(Outcome::Answered) => {
                city.score = city.score.saturating_sub(1);
                if city.score == 0 && city.held_until.is_some_and(|u| u <= Instant::now()) {
                    city.held_until = None;
                    city.holds = city.holds.saturating_sub(1);
                }
            }
            None => {}
        }
        let idle = city.running == 0
            && city.waiting.is_empty()
            && city.score == 0
            && city.held_until.is_none()
            && city.holds == 0;
        if idle {
            s.cities.remove(&tenant);
        }
        self.dispatch(s);
    }

    /// Whether `tenant`'s calls are held back now.
    pub fn is_held(&self, tenant: TenantId) -> bool {
        let s = self.lock();
        s.cities
            .get(&tenant)
            .and_then(|c| c.held_until)
            .is_some_and(|u| u > Instant::now())
    }

    /// Scripts of `tenant` running now, and of all cities.
    pub fn running(&self, tenant: TenantId) -> (usize, usize) {
        let s = self.lock();
        let of_city = s.cities.get(&tenant).map_or(0, |c| c.running);
        (of_city, self.settings.slots.max(1) - s.free)
    }
}

fn throttled(wait: Duration) -> DomainError {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    DomainError::PolicyThrottled {
        retry_after: secs.max(1),
    }
}

/// A call waiting for its turn; leaves the queue however the wait ends (a slot granted but not
/// taken goes back).
struct Wait<'a> {
    scheduler: &'a Arc<Scheduler>,
    tenant: TenantId,
    ticket: u64,
    rx: Option<oneshot::Receiver<()>>,
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let Some(mut rx) = self.rx.take() else {
            return;
        };
        if rx.try_recv().is_ok() {
            self.scheduler.release(self.tenant, None);
            return;
        }
        let mut s = self.scheduler.lock();
        if let Some(city) = s.cities.get_mut(&self.tenant) {
            city.waiting.retain(|(t, _)| *t != self.ticket);
        }
    }
}

/// One call's slot: given back when dropped, with the call's outcome if it was recorded.
#[derive(Debug)]
pub struct Slot {
    scheduler: Arc<Scheduler>,
    tenant: TenantId,
    outcome: Option<Outcome>,
}

impl Slot {
    pub fn finished(&mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.scheduler.release(self.tenant, self.outcome.take());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const A: TenantId = TenantId(1);
    const B: TenantId = TenantId(2);
    const C: TenantId = TenantId(3);

    fn sched(slots: usize, per_tenant: usize) -> Arc<Scheduler> {
        Scheduler::new(Settings {
            slots,
            per_tenant,
            queue_per_tenant: 3,
            strikes: 2,
            hold: Duration::from_secs(30),
            max_hold: Duration::from_secs(100),
        })
    }

    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_city_holds_at_most_its_share_and_waits_at_most_its_queue() {
        let s = sched(2, 1);
        let a1 = s.slot(A).await.unwrap();
        // A's second call waits although a slot is free; B takes it at once.
        let s2 = s.clone();
        let a2 = tokio::spawn(async move { s2.slot(A).await.map(|_| ()) });
        settle().await;
        assert!(!a2.is_finished());
        let b1 = s.slot(B).await.unwrap();
        assert_eq!(s.running(A), (1, 2));
        // Three more of A wait, the fourth is refused at once.
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.slot(A).await.map(|_| ()) })
            })
            .collect();
        settle().await;
        let refused = s.slot(A).await.unwrap_err();
        assert_eq!(refused.code(), "POLICY_THROTTLED");
        drop((a1, b1));
        a2.await.unwrap().unwrap();
        for w in waiting {
            w.await.unwrap().unwrap();
        }
        assert_eq!(s.running(A), (0, 0));
        assert!(s.lock().cities.is_empty());
    }

    /// With A's calls always waiting, freed slots alternate between the cities in turn.
    #[tokio::test]
    async fn freed_slots_go_round_the_cities() {
        let s = sched(1, 1);
        let first = s.slot(A).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut calls = Vec::new();
        for t in [A, A, A, B, C] {
            let (s, order) = (s.clone(), order.clone());
            calls.push(tokio::spawn(async move {
                let slot = s.slot(t).await.unwrap();
                order.lock().unwrap().push(t.0);
                settle().await;
                drop(slot);
            }));
            settle().await;
        }
        drop(first);
        for c in calls {
            c.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![A.0, B.0, C.0, A.0, A.0]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_city_over_its_budget_is_held_back_alone() {
        let s = sched(2, 1);
        for _ in 0..2 {
            s.slot(A).await.unwrap().finished(Outcome::OverBudget);
        }
        assert!(s.is_held(A));
        let e = s.slot(A).await.unwrap_err();
        assert_eq!(e, DomainError::PolicyThrottled { retry_after: 30 }, "{e}");
        assert!(e.to_string().contains("Spróbuj ponownie za 30 s"), "{e}");
        // B is not touched.
        s.slot(B).await.unwrap().finished(Outcome::Answered);
        assert!(!s.is_held(B));
        // After the hold A runs again; going on, the next hold is twice as long.
        tokio::time::advance(Duration::from_secs(30)).await;
        for _ in 0..2 {
            s.slot(A).await.unwrap().finished(Outcome::OverBudget);
        }
        assert_eq!(
            s.slot(A).await.unwrap_err(),
            DomainError::PolicyThrottled { retry_after: 60 }
        );
    }

    #[tokio::test]
    async fn successes_outweigh_rare_failures() {
        let s = sched(1, 1);
        for _ in 0..20 {
            s.slot(A).await.unwrap().finished(Outcome::OverBudget);
            for _ in 0..SUCCESSES_PER_STRIKE {
                s.slot(A).await.unwrap().finished(Outcome::Answered);
            }
        }
        assert!(!s.is_held(A));
    }

    #[tokio::test]
    async fn a_wait_given_up_leaves_no_trace() {
        let s = sched(1, 1);
        let held = s.slot(A).await.unwrap();
        let s2 = s.clone();
        let gives_up = tokio::spawn(async move { s2.slot(B).await.map(|_| ()) });
        settle().await;
        gives_up.abort();
        let _ = gives_up.await;
        drop(held);
        // The slot is free again for anyone.
        let _b = s.slot(B).await.unwrap();
        assert_eq!(s.running(B), (1, 1));
    }
}
