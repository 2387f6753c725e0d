//! The administration of the electronic queue (part of `/t/{slug}/admin/graphql`): queues,
//! desks and the queue's timing rules, edited like offices and services — checked, stored with
//! an audit row and applied at once (administrators only).

use async_graphql::{Context, Enum, InputObject, Object, Result};
use okienko_domain::queue::{BookedTickets, DeskConfig, QueueConfig, QueueRules};
use okienko_domain::DomainError;

use super::config::{edit_config, not_found, Configuration};

/// A queue (category) of an office, as `[[queues]]` in `tenant.toml`.
#[derive(InputObject)]
pub struct QueueInput {
    /// The office's key.
    office: String,
    /// One to three capital letters; an update names the queue by office and letter.
    letter: String,
    /// The Polish name on the kiosk and the ticket.
    name: String,
    /// Keys of the services it serves.
    #[graphql(default)]
    services: Vec<String>,
    /// Walk-in tickets a day (CI-4); null: no limit.
    daily_capacity: Option<u32>,
    /// The kiosk's entry for booked visits (CI-16, DG-8's "U").
    #[graphql(default)]
    check_in: bool,
}

impl From<QueueInput> for QueueConfig {
    fn from(q: QueueInput) -> Self {
        QueueConfig {
            office: q.office,
            letter: q.letter.trim().to_uppercase(),
            name: q.name,
            services: q.services,
            daily_capacity: q.daily_capacity,
            check_in: q.check_in,
        }
    }
}

/// A desk of an office, as `[[desks]]` in `tenant.toml`.
#[derive(InputObject)]
pub struct DeskInput {
    office: String,
    /// An update names the desk by office and number.
    number: u32,
    /// Letters of the office's queues it calls from.
    queues: Vec<String>,
}

impl From<DeskInput> for DeskConfig {
    fn from(d: DeskInput) -> Self {
        DeskConfig {
            office: d.office,
            number: d.number,
            queues: d
                .queues
                .into_iter()
                .map(|l| l.trim().to_uppercase())
                .collect(),
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "okienko_domain::queue::BookedTickets")]
pub enum BookedTicketsMode {
    /// In the queue of the booking's service (CI-18).
    ServiceQueue,
    /// In the office's check-in queue (DG-8's "U").
    CheckInQueue,
}

/// The `[queue]` table of `tenant.toml`.
#[derive(InputObject)]
pub struct QueueRulesInput {
    /// Check-in at most this many minutes before the visit (CI-16: 60; DG-4: 30).
    check_in_before_minutes: u32,
    /// A visit not checked in this many minutes after its start is cancelled (CI-17: 10;
    /// GD-11, DG-8: 0); null: never.
    cancel_unchecked_after_minutes: Option<u32>,
    /// Least minutes between calls of one ticket (CI-8: 10).
    #[graphql(default = 10)]
    recall_interval_minutes: u32,
    /// Unanswered calls after which a ticket is void (CI-8: 3).
    #[graphql(default = 3)]
    max_calls: u32,
    #[graphql(default_with = "BookedTicketsMode::ServiceQueue")]
    booked_tickets: BookedTicketsMode,
}

#[derive(Default)]
pub struct QueueMutation;

fn unknown_queue(office: &str, letter: &str) -> DomainError {
    not_found("letter", &format!("{office}/{letter}"))
}

#[Object]
impl QueueMutation {
    async fn create_queue(&self, ctx: &Context<'_>, input: QueueInput) -> Result<Configuration> {
        let q: QueueConfig = input.into();
        let target = format!("queue:{}/{}", q.office, q.letter);
        edit_config(ctx, "config.create_queue", &target, move |c| {
            if c.queue_of(&q.office, &q.letter).is_some() {
                return Err(DomainError::invalid(
                    "letter",
                    "kolejka o tej literze już istnieje w tym urzędzie",
                ));
            }
            c.queues.push(q.clone());
            Ok(())
        })
        .await
    }

    /// Replaces a queue's data (named by office and letter).
    async fn update_queue(&self, ctx: &Context<'_>, input: QueueInput) -> Result<Configuration> {
        let q: QueueConfig = input.into();
        let target = format!("queue:{}/{}", q.office, q.letter);
        edit_config(ctx, "config.update_queue", &target, move |c| {
            let slot = c
                .queues
                .iter_mut()
                .find(|x| x.office == q.office && x.letter == q.letter)
                .ok_or_else(|| unknown_queue(&q.office, &q.letter))?;
            *slot = q.clone();
            Ok(())
        })
        .await
    }

    /// Removes a queue that no desk calls from any more; its past tickets are kept.
    async fn remove_queue(
        &self,
        ctx: &Context<'_>,
        office: String,
        letter: String,
    ) -> Result<Configuration> {
        let letter = letter.trim().to_uppercase();
        let target = format!("queue:{office}/{letter}");
        edit_config(ctx, "config.remove_queue", &target, move |c| {
            if c.queue_of(&office, &letter).is_none() {
                return Err(unknown_queue(&office, &letter));
            }
            if c.desks
                .iter()
                .any(|d| d.office == office && d.queues.contains(&letter))
            {
                return Err(DomainError::invalid(
                    "letter",
                    "stanowiska obsługują tę kolejkę: najpierw je zmień",
                ));
            }
            c.queues
                .retain(|q| !(q.office == office && q.letter == letter));
            Ok(())
        })
        .await
    }

    async fn create_desk(&self, ctx: &Context<'_>, input: DeskInput) -> Result<Configuration> {
        let d: DeskConfig = input.into();
        let target = format!("desk:{}/{}", d.office, d.number);
        edit_config(ctx, "config.create_desk", &target, move |c| {
            if c.desk_of(&d.office, d.number).is_some() {
                return Err(DomainError::invalid(
                    "number",
                    "stanowisko o tym numerze już istnieje w tym urzędzie",
                ));
            }
            c.desks.push(d.clone());
            Ok(())
        })
        .await
    }

    /// Replaces the queues a desk calls from (named by office and number).
    async fn update_desk(&self, ctx: &Context<'_>, input: DeskInput) -> Result<Configuration> {
        let d: DeskConfig = input.into();
        let target = format!("desk:{}/{}", d.office, d.number);
        edit_config(ctx, "config.update_desk", &target, move |c| {
            let slot = c
                .desks
                .iter_mut()
                .find(|x| x.office == d.office && x.number == d.number)
                .ok_or_else(|| not_found("number", &format!("{}/{}", d.office, d.number)))?;
            *slot = d.clone();
            Ok(())
        })
        .await
    }

    async fn remove_desk(
        &self,
        ctx: &Context<'_>,
        office: String,
        number: u32,
    ) -> Result<Configuration> {
        let target = format!("desk:{office}/{number}");
        edit_config(ctx, "config.remove_desk", &target, move |c| {
            if c.desk_of(&office, number).is_none() {
                return Err(not_found("number", &format!("{office}/{number}")));
            }
            c.desks
                .retain(|d| !(d.office == office && d.number == number));
            Ok(())
        })
        .await
    }

    /// Sets the queue's timing rules (CI-8, CI-16, CI-17, DG-4, DG-8, GD-11).
    async fn set_queue_rules(
        &self,
        ctx: &Context<'_>,
        input: QueueRulesInput,
    ) -> Result<Configuration> {
        let rules = QueueRules {
            check_in_before_minutes: input.check_in_before_minutes,
            cancel_unchecked_after_minutes: input.cancel_unchecked_after_minutes,
            recall_interval_minutes: input.recall_interval_minutes,
            max_calls: input.max_calls,
            booked_tickets: BookedTickets::from(input.booked_tickets),
        };
        edit_config(ctx, "config.set_queue_rules", "queue", move |c| {
            c.queue = rules.clone();
            Ok(())
        })
        .await
    }
}
