//! Case mail: composed and written to the outbox in the transaction of the change, then sent
//! over SMTP by a background worker with retries and exponential back-off (at least once).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use casebridge_domain::EmailAddress;
use casebridge_domain::notification::{CaseNotice, recipients};
use casebridge_persistence::repo::cases::CaseRecord;
use casebridge_persistence::repo::identity;
use casebridge_persistence::repo::outbox::{self, ClaimedMail, Mail};
use casebridge_persistence::{Connection, PersistenceError, Writes};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::settings::{SmtpSettings, SmtpTls};
use crate::state::AppState;

/// Mails claimed at once.
const BATCH: u64 = 20;
/// How often the outbox is looked at when nothing wakes the worker.
const POLL: StdDuration = StdDuration::from_secs(1);
/// The longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::hours(1);

/// Writes the mail about a change of a case into the outbox, in the change's transaction.
pub async fn notify(
    conn: &impl Connection,
    case: &CaseRecord,
    notice: &CaseNotice,
    text: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    let redirect = match case.creator_user_id {
        Some(user) => identity::find_user(conn, case.creator_domain_id, user)
            .await?
            .and_then(|u| u.notification_email),
        None => None,
    };
    enqueue(conn, case, notice, text, redirect.as_ref(), now).await
}

/// Writes the mail about a case just filed. Its creator is the request's actor, whose
/// notification address the request already holds (`redirect`): no lookup in the filing's
/// transaction.
pub async fn notify_filed(
    conn: &impl Writes,
    case: &CaseRecord,
    redirect: Option<&EmailAddress>,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    enqueue(conn, case, &CaseNotice::Created, None, redirect, now).await
}

/// The notice's mail to the creator (or where it redirects its mail) and the subscribers.
async fn enqueue(
    conn: &impl Writes,
    case: &CaseRecord,
    notice: &CaseNotice,
    text: Option<&str>,
    redirect: Option<&EmailAddress>,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    let Ok(creator) = EmailAddress::parse(&case.creator_email) else {
        return Ok(());
    };
    let subscribers: Vec<EmailAddress> = case
        .subscriber_emails
        .iter()
        .filter_map(|e| EmailAddress::parse(e).ok())
        .collect();
    let subject = notice.subject(case.case_number, &case.title);
    let body = compose(case, notice, text);
    let mails: Vec<Mail> = recipients(&creator, redirect, &subscribers)
        .into_iter()
        .map(|to| Mail {
            recipient: to.to_string(),
            subject: subject.clone(),
            body: body.clone(),
            case_id: Some(case.id),
        })
        .collect();
    outbox::enqueue(conn, &mails, now).await
}

fn compose(case: &CaseRecord, notice: &CaseNotice, text: Option<&str>) -> String {
    let mut body = format!(
        "Case #{number}: {title}\n{headline}.\n\nStatus: {status}\nSeverity: {severity}\n",
        number = case.case_number,
        title = case.title,
        headline = notice.headline(),
        status = case.lifecycle.status,
        severity = case.severity,
    );
    if let Some(text) = text {
        body.push('\n');
        body.push_str(text);
        body.push('\n');
    }
    body.push_str(&format!(
        "\nRead the case at /v1/cases/{} (case number {}).\n\
         You receive this mail because you filed or subscribed to the case.\n",
        case.id, case.case_number
    ));
    body
}

/// Sends mail over SMTP.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for the SMTP server.
    pub fn new(smtp: &SmtpSettings, from: &str) -> Result<Self, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("CASEBRIDGE_MAIL_FROM is not a mailbox: {e}"))?;
        let builder = match smtp.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                .map_err(|e| e.to_string())?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .map_err(|e| e.to_string())?,
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(StdDuration::from_secs(30)));
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    /// Sends one mail; its Message-ID is derived from the outbox row, so a mail sent twice
    /// (at least once means it can be) is recognisably the same mail.
    pub async fn send(&self, mail: &ClaimedMail) -> Result<(), String> {
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{}@casebridge>", mail.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The wait before attempt `attempt + 1`: 5 s doubling, at most an hour.
pub fn backoff(attempt: i32) -> Duration {
    let exponent = u32::try_from(attempt.clamp(0, 20)).unwrap_or(20);
    let secs = 5_i64.saturating_mul(2_i64.saturating_pow(exponent));
    Duration::seconds(secs).min(MAX_BACKOFF)
}

/// Sends what is due until `stop` is cancelled. Several instances may run this on one database:
/// each mail is claimed by one worker at a time for `lease`, renewed every third of it while the
/// worker sends its batch (a send may take up to the SMTP timeout), and given back at once when
/// the worker stops. A worker that died leaves its claims to run out within `lease`.
pub async fn run_worker(
    state: AppState,
    mailer: Mailer,
    wake: Arc<Notify>,
    lease: StdDuration,
    stop: CancellationToken,
) {
    let lease_time = Duration::try_from(lease).unwrap_or(Duration::seconds(15));
    loop {
        let now = state.clock.now();
        let claimed = tokio::select! {
            () = stop.cancelled() => return,
            claimed = outbox::claim(state.db.writer(), now, lease_time, BATCH) => claimed,
        };
        match claimed {
            Ok(batch) if !batch.is_empty() => {
                send_batch(&state, &mailer, batch, lease, &stop).await;
            }
            Ok(_) => {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = wake.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the mail outbox");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        }
    }
}

/// Sends a claimed batch one mail at a time while keeping the claim on the rest alive; on stop,
/// gives back what is left.
async fn send_batch(
    state: &AppState,
    mailer: &Mailer,
    batch: Vec<ClaimedMail>,
    lease: StdDuration,
    stop: &CancellationToken,
) {
    let held: std::sync::Mutex<Vec<uuid::Uuid>> =
        std::sync::Mutex::new(batch.iter().map(|m| m.id).collect());
    let remaining = || held.lock().map(|ids| ids.clone()).unwrap_or_default();
    let sending = async {
        for mail in &batch {
            deliver(state, mailer, mail).await;
            if let Ok(mut ids) = held.lock() {
                ids.retain(|id| *id != mail.id);
            }
        }
    };
    tokio::pin!(sending);
    let mut renewal = tokio::time::interval(lease / 3);
    renewal.tick().await;
    loop {
        tokio::select! {
            () = &mut sending => return,
            () = stop.cancelled() => {
                if let Err(e) = outbox::release(state.db.writer(), &remaining()).await {
                    tracing::warn!(error = %e, "could not give back claimed mail; its lease runs out");
                }
                return;
            }
            _ = renewal.tick() => {
                let until = state.clock.now() + Duration::try_from(lease).unwrap_or(Duration::seconds(15));
                if let Err(e) = outbox::renew(state.db.writer(), &remaining(), until).await {
                    tracing::warn!(error = %e, "could not renew the claim on mail being sent");
                }
            }
        }
    }
}

async fn deliver(state: &AppState, mailer: &Mailer, mail: &ClaimedMail) {
    let result = mailer.send(mail).await;
    let now = state.clock.now();
    let marked = match &result {
        Ok(()) => outbox::mark_sent(state.db.writer(), mail.id, now).await,
        Err(e) => {
            let attempts = mail.attempts.saturating_add(1);
            let retry_at = now + backoff(attempts - 1);
            tracing::warn!(mail_id = %mail.id, attempts, error = %e, %retry_at, "mail not sent; will retry");
            outbox::mark_failed(state.db.writer(), mail.id, attempts, retry_at, e).await
        }
    };
    if let Err(e) = marked {
        // The lease runs out and the mail is tried again: at least once.
        tracing::warn!(mail_id = %mail.id, error = %e, "could not record the mail's outcome");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_five_seconds_up_to_an_hour() {
        assert_eq!(backoff(0), Duration::seconds(5));
        assert_eq!(backoff(1), Duration::seconds(10));
        assert_eq!(backoff(3), Duration::seconds(40));
        assert_eq!(backoff(20), Duration::hours(1));
    }
}
