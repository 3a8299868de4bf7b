//! Filing a case on a customer's behalf.

use std::collections::BTreeMap;

use casebridge_domain::case::{FollowedUp, check_follow_up_of};
use casebridge_domain::classification::{check_answers, check_category_of_product};
use casebridge_domain::privacy::check_no_personal_data;
use casebridge_domain::{
    Answer, CaseId, CaseTitle, ClassificationId, CustomerId, Description, LanguageCode,
    ProductType, Severity, Subscribers, TimeZone,
};
use casebridge_persistence::Write;
use casebridge_persistence::repo::cases::{self, NewCase};
use casebridge_persistence::repo::customers;
use casebridge_persistence::repo::service_levels;
use serde_json::json;

use crate::auth::Actor;
use crate::cases::change::record_event;
use crate::cases::load::{participants, visible_case};
use crate::cases::once::{Created, Outcome, create_once};
use crate::cases::service_level::filed_target;
use crate::conditions::{Idempotency, etag};
use crate::mail;
use crate::problem::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::wire::cases::Case;

/// A case to file, its fields parsed.
#[derive(Debug, Clone)]
pub struct Filing {
    /// The customer it is filed for.
    pub customer_id: CustomerId,
    /// The product.
    pub product_type: ProductType,
    /// Title.
    pub title: CaseTitle,
    /// The category.
    pub classification_id: ClassificationId,
    /// Description.
    pub description: Description,
    /// Answers to the category's questions, by question id.
    pub answers: BTreeMap<String, Answer>,
    /// Severity.
    pub severity: Severity,
    /// Language support answers in.
    pub language: LanguageCode,
    /// Time zone of the people working the case.
    pub time_zone: TimeZone,
    /// Who else is kept informed.
    pub subscribers: Subscribers,
    /// The closed case this one follows up.
    pub follow_up_of: Option<CaseId>,
}

impl Filing {
    /// Refuses personal data in the filing's free text; the filer's and the subscribers'
    /// own addresses are allowed.
    fn check_no_personal_data(&self, actor: &Actor) -> Result<(), ApiError> {
        let mut texts: Vec<(String, &str)> = vec![
            ("title".to_owned(), self.title.as_str()),
            ("description".to_owned(), self.description.as_str()),
        ];
        for (k, v) in &self.answers {
            texts.push((format!("answers.{k}"), v.as_str()));
        }
        let subscribers = self.subscribers.to_strings();
        check_no_personal_data(texts, &participants(actor.email.as_str(), &subscribers))?;
        Ok(())
    }
}

/// Files a case: the customer must be managed by the actor's domain and, when that domain is
/// its reseller, must have authorised it; decided with the customer locked in the transaction
/// that files, so a revocation either commits first and is seen, or waits.
pub async fn file_case(
    state: &AppState,
    actor: &Actor,
    filing: &Filing,
    key: Option<&Idempotency>,
) -> Result<Outcome, ApiError> {
    filing.check_no_personal_data(actor)?;
    let now = state.clock.now();
    let customer_id = filing.customer_id;
    // Written against `Writes` alone, so that on SQLite the whole transaction runs on the
    // serving thread (casebridge_persistence::write).
    create_once::<Write, _>(
        state,
        actor,
        key,
        now,
        async |tx| {
            let customer = customers::share_customer(tx, customer_id)
                .await?
                .ok_or_else(ApiError::not_found)?;
            let management = customers::management(tx, &customer).await?;
            management.check_may_file_case(actor.domain_id)?;
            Ok((customer, management))
        },
        async |tx, (customer, management)| {
            // The category and the policy in one statement: one round trip on PostgreSQL.
            let (classification, policy) =
                service_levels::classification_and_policy(tx, filing.classification_id).await?;
            check_category_of_product(
                classification.as_ref().map(|c| c.product_type),
                filing.product_type,
            )?;
            if let Some(c) = &classification {
                check_answers(&c.questions, &filing.answers)?;
            }
            if let Some(previous) = filing.follow_up_of {
                let seen = match visible_case(tx, actor.viewer(), previous).await {
                    Ok(seen) => Some(FollowedUp {
                        customer: seen.case.customer_id,
                        status: seen.case.lifecycle.status,
                    }),
                    Err(e) if e.code() == ErrorCode::NotFound => None,
                    Err(e) => return Err(e),
                };
                check_follow_up_of(seen, customer_id)?;
            }
            let target = filed_target(
                &policy,
                customer.support_tier,
                filing.severity,
                now,
                &filing.time_zone,
            );
            let new = NewCase {
                service_tier: customer.support_tier,
                target,
                customer_id,
                customer_domain_id: customer.domain_id,
                product_type: filing.product_type,
                title: filing.title.as_str().to_owned(),
                classification_id: filing.classification_id,
                description: filing.description.as_str().to_owned(),
                answers: filing
                    .answers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
                    .collect(),
                severity: filing.severity,
                language_code: filing.language.to_string(),
                time_zone: filing.time_zone.to_string(),
                subscriber_emails: filing.subscribers.to_strings(),
                creator_user_id: actor.user_id,
                creator_email: actor.email.to_string(),
                creator_domain_id: actor.domain_id,
                reseller_domain_id: customer.reseller_domain_id,
                partner_domains: management.partner_domains(),
                follow_up_of: filing.follow_up_of,
            };
            let case = cases::insert_case(tx, &new, now).await?;
            let id = case.id;
            // The mail first: on PostgreSQL the mail and the event are held and go with the
            // event's look-up of webhooks, one round trip (casebridge_persistence::append).
            mail::notify_filed(tx, &case, actor.notification_email.as_ref(), now).await?;
            record_event(
                tx,
                &actor.audit(),
                &case,
                "case.created",
                json!({"case_number": case.case_number, "severity": case.severity.as_str()}),
                now,
            )
            .await?;
            Ok(
                Created::new(format!("/v1/cases/{id}"), &Case::of(&case, now))?
                    .with_etag(etag(case.version))
                    .with_mail(true),
            )
        },
    )
    .await
}
