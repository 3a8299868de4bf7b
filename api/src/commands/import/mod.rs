//! `casebridge import-legacy FILE`: moving partners in from the old support center.
//!
//! The whole file is read and checked first (every value parsed by the domain's types, every
//! reference resolved, every rule applied); a bad record stops the run with its line number,
//! id and reason, and nothing is written. A real run then writes everything in one
//! transaction. Runs are idempotent: each old record is remembered by kind and id with a hash
//! of its content, so a second run of the same file changes nothing and a newer export updates
//! exactly the records that changed.

pub mod format;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Instant;

use casebridge_domain::ServiceLevelPolicy;
use casebridge_domain::access::{check_assignable, check_email_in_domain, check_super_admin_email};
use casebridge_domain::case::Escalation;
use casebridge_domain::classification::check_category_of_product;
use casebridge_domain::privacy::check_no_personal_data;
use casebridge_domain::{
    Answer, BuiltInRole, CaseId, CaseTitle, ClassificationId, CommentBody, CommentId,
    Contact as DomainContact, CustomerId, Description, DisplayName, DomainId, DomainName,
    EmailAddress, FieldParser, Justification, LanguageCode, Lifecycle, Management, OrgUnitPath,
    Party, PostalAddress as DomainPostalAddress, Privilege, Realm, ResellerAccess, RoleId,
    RoleName, RoleRef, Subscribers, SupportTier, TimeZone, UserId,
};
use casebridge_persistence::repo::customers::{
    self, ContactData, CustomerChanges, NewCustomer, PostalAddressData,
};
use casebridge_persistence::repo::identity::{self, NewUser, UserChanges};
use casebridge_persistence::repo::legacy::{
    self, ImportedCase, ImportedComment, LegacyMap, LegacyRow,
};
use casebridge_persistence::repo::{audit, classifications, housekeeping, search, service_levels};
use casebridge_persistence::{Database, PersistenceError};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use self::format::Record;
use crate::cases::participants;
use crate::cases::service_level::filed_target;

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A record is bad.
    #[error("line {line}{}: {reason}", .id.as_ref().map(|i| format!(" (record {i})")).unwrap_or_default())]
    Record {
        /// Its line, counting from 1.
        line: usize,
        /// Its old id.
        id: Option<String>,
        /// Why.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] PersistenceError),
}

/// How to run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Check and report, write nothing.
    pub dry_run: bool,
    /// Show progress on standard error.
    pub progress: bool,
}

/// What an import did (or would do), per kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Per kind: created, updated, unchanged.
    pub kinds: BTreeMap<&'static str, [u64; 3]>,
    /// Records read.
    pub records: u64,
    /// Seconds taken.
    pub seconds: f64,
}

impl Summary {
    fn count(&mut self, kind: &'static str, action: Action) {
        let slot = self.kinds.entry(kind).or_insert([0; 3]);
        slot[action as usize] += 1;
    }

    /// Whether nothing was (or would be) created or updated.
    pub fn is_unchanged(&self) -> bool {
        self.kinds.values().all(|[c, u, _]| *c == 0 && *u == 0)
    }

    /// The report printed at the end.
    pub fn report(&self, dry_run: bool) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{:<10} {:>9} {:>9} {:>9}\n",
            "", "created", "updated", "unchanged"
        ));
        for kind in KINDS {
            let [c, u, n] = self.kinds.get(kind).copied().unwrap_or([0; 3]);
            out.push_str(&format!(
                "{:<10} {c:>9} {u:>9} {n:>9}\n",
                format!("{kind}s")
            ));
        }
        let rate = if self.seconds > 0.0 {
            self.records as f64 / self.seconds
        } else {
            0.0
        };
        out.push_str(&format!(
            "{} records in {:.1} s ({:.0} records/s).\n",
            self.records, self.seconds, rate
        ));
        if dry_run {
            out.push_str("Dry run: nothing was written.\n");
        } else if self.is_unchanged() {
            out.push_str("Nothing changed.\n");
        }
        out
    }
}

const KINDS: [&str; 6] = ["domain", "role", "user", "customer", "case", "comment"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create = 0,
    Update = 1,
    Unchanged = 2,
}

/// Content hash of a record: its JSON with keys sorted, so formatting does not count.
fn record_hash(line: &str) -> String {
    fn canonical(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(':');
                    if let Some(value) = map.get(k) {
                        canonical(value, out);
                    }
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(line) {
        canonical(&value, &mut text);
    }
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Progress on standard error, at most once a second.
struct Progress {
    enabled: bool,
    total: usize,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn tick(&mut self, stage: &str, done: usize) {
        if !self.enabled || self.last.elapsed().as_secs_f64() < 1.0 {
            return;
        }
        self.last = Instant::now();
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-6);
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "\r{stage}: {done}/{} records ({rate:.0} records/s)   ",
            self.total
        );
        let _ = err.flush();
    }

    fn done(&self) {
        if self.enabled {
            let _ = writeln!(std::io::stderr());
        }
    }
}

// ---------------------------------------------------------------- planning

struct DomainInfo {
    id: DomainId,
    name: DomainName,
    realm: Realm,
}

struct UserInfo {
    id: UserId,
    domain: DomainId,
    email: EmailAddress,
}

struct CustomerInfo {
    id: CustomerId,
    domain: DomainId,
    management: Management,
    tier: SupportTier,
}

/// What the file's records are, resolved, as the run will write them.
#[derive(Default)]
struct Plan {
    domains: Vec<(Action, LegacyRow, DomainId, DomainName, Realm)>,
    roles: Vec<(
        Action,
        LegacyRow,
        RoleId,
        DomainId,
        RoleName,
        BTreeSet<Privilege>,
    )>,
    users: Vec<(Action, LegacyRow, NewUser, bool, Vec<RoleRef>)>,
    customers: Vec<(Action, LegacyRow, CustomerPlan)>,
    new_cases: Vec<ImportedCase>,
    changed_cases: Vec<(ImportedCase, Vec<CommentId>)>,
    case_rows: Vec<(Action, LegacyRow)>,
    comment_rows: Vec<(Action, LegacyRow)>,
    numbered: bool,
}

struct CustomerPlan {
    new: NewCustomer,
    id: CustomerId,
    access: ResellerAccess,
    partners: Vec<DomainId>,
}

struct Planner<'a> {
    db: &'a Database,
    existing: LegacyMap,
    domains: HashMap<String, DomainInfo>,
    roles: HashMap<String, (RoleId, DomainId)>,
    users: HashMap<String, UserInfo>,
    customers: HashMap<String, CustomerInfo>,
    classifications: HashMap<ClassificationId, casebridge_domain::ProductType>,
    /// The provider's service levels: imported cases get due times as if filed then.
    policy: ServiceLevelPolicy,
    /// When the run started: a breach before it is history, not news for the timeline.
    now: OffsetDateTime,
    numbers_in_use: HashMap<i64, Uuid>,
    seen: HashSet<(&'static str, String)>,
    next_number: i64,
    plan: Plan,
    summary: Summary,
}

type Refusal = String;

fn parse_err(e: casebridge_domain::DomainError) -> Refusal {
    match e {
        casebridge_domain::DomainError::InvalidFields(fields) => fields
            .into_iter()
            .map(|f| format!("{}: {}", f.field, f.error.message))
            .collect::<Vec<_>>()
            .join("; "),
        casebridge_domain::DomainError::PiiDetected(findings) => format!(
            "personal data found: {}",
            findings
                .iter()
                .map(|f| format!("{} ({})", f.field, f.kind.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

impl Planner<'_> {
    fn action(
        &mut self,
        kind: &'static str,
        legacy_id: &str,
        hash: &str,
    ) -> Result<(Action, Option<Uuid>), Refusal> {
        if !self.seen.insert((kind, legacy_id.to_owned())) {
            return Err(format!(
                "a {kind} with id {legacy_id} appears twice in the file"
            ));
        }
        Ok(
            match self.existing.get(&(kind.to_owned(), legacy_id.to_owned())) {
                None => (Action::Create, None),
                Some(e) if e.hash == hash => (Action::Unchanged, Some(e.entity_id)),
                Some(e) => (Action::Update, Some(e.entity_id)),
            },
        )
    }

    async fn domain(&mut self, legacy_id: &str) -> Result<(DomainId, DomainName, Realm), Refusal> {
        if let Some(d) = self.domains.get(legacy_id) {
            return Ok((d.id, d.name.clone(), d.realm));
        }
        let entity = self
            .existing
            .get(&("domain".to_owned(), legacy_id.to_owned()))
            .map(|e| e.entity_id)
            .ok_or_else(|| format!("no domain {legacy_id} in the file or imported before"))?;
        let record = identity::find_domain(self.db.reader(), DomainId::from_uuid(entity))
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the domain {legacy_id} imported before no longer exists"))?;
        self.domains.insert(
            legacy_id.to_owned(),
            DomainInfo {
                id: record.id,
                name: record.name.clone(),
                realm: record.realm,
            },
        );
        Ok((record.id, record.name, record.realm))
    }

    async fn user(&mut self, legacy_id: &str) -> Result<(UserId, DomainId, EmailAddress), Refusal> {
        if let Some(u) = self.users.get(legacy_id) {
            return Ok((u.id, u.domain, u.email.clone()));
        }
        let entity = self
            .existing
            .get(&("user".to_owned(), legacy_id.to_owned()))
            .map(|e| e.entity_id)
            .ok_or_else(|| format!("no user {legacy_id} in the file or imported before"))?;
        let user = identity::load_auth(
            self.db.reader(),
            UserId::from_uuid(entity),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the user {legacy_id} imported before no longer exists"))?
        .user;
        self.users.insert(
            legacy_id.to_owned(),
            UserInfo {
                id: user.id,
                domain: user.domain_id,
                email: user.email.clone(),
            },
        );
        Ok((user.id, user.domain_id, user.email))
    }

    async fn customer(
        &mut self,
        legacy_id: &str,
    ) -> Result<(CustomerId, DomainId, Management, SupportTier), Refusal> {
        if let Some(c) = self.customers.get(legacy_id) {
            return Ok((c.id, c.domain, c.management.clone(), c.tier));
        }
        let entity = self
            .existing
            .get(&("customer".to_owned(), legacy_id.to_owned()))
            .map(|e| e.entity_id)
            .ok_or_else(|| format!("no customer {legacy_id} in the file or imported before"))?;
        let record = customers::find_customer(self.db.reader(), CustomerId::from_uuid(entity))
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the customer {legacy_id} imported before no longer exists"))?;
        let management = customers::management(self.db.reader(), &record)
            .await
            .map_err(|e| e.to_string())?;
        self.customers.insert(
            legacy_id.to_owned(),
            CustomerInfo {
                id: record.id,
                domain: record.domain_id,
                management: management.clone(),
                tier: record.support_tier,
            },
        );
        Ok((record.id, record.domain_id, management, record.support_tier))
    }

    async fn plan_domain(&mut self, d: format::Domain, hash: String) -> Result<(), Refusal> {
        let name = DomainName::parse(&d.name).map_err(|e| format!("name: {}", e.message))?;
        let realm: Realm = d.realm.into();
        let (action, entity) = self.action("domain", &d.id, &hash)?;
        let id = entity
            .map(DomainId::from_uuid)
            .unwrap_or_else(DomainId::generate);
        if action == Action::Update {
            let current = identity::find_domain(self.db.reader(), id)
                .await
                .map_err(|e| e.to_string())?;
            if current.is_some_and(|c| c.realm != realm) {
                return Err("a domain's realm cannot change".to_owned());
            }
        }
        if action == Action::Create
            && identity::find_domain_by_name(self.db.reader(), name.as_str())
                .await
                .map_err(|e| e.to_string())?
                .is_some()
        {
            return Err(format!(
                "the domain {name} exists already and was not imported"
            ));
        }
        self.domains.insert(
            d.id.clone(),
            DomainInfo {
                id,
                name: name.clone(),
                realm,
            },
        );
        self.summary.count("domain", action);
        let row = LegacyRow {
            kind: "domain",
            legacy_id: d.id,
            entity_id: id.as_uuid(),
            hash,
        };
        self.plan.domains.push((action, row, id, name, realm));
        Ok(())
    }

    async fn plan_role(&mut self, r: format::Role, hash: String) -> Result<(), Refusal> {
        let name = RoleName::parse(&r.name).map_err(|e| format!("name: {}", e.message))?;
        let (domain, _, _) = self.domain(&r.domain).await?;
        let (action, entity) = self.action("role", &r.id, &hash)?;
        let id = entity
            .map(RoleId::from_uuid)
            .unwrap_or_else(RoleId::generate);
        self.roles.insert(r.id.clone(), (id, domain));
        self.summary.count("role", action);
        let privileges = r.privileges.into_iter().map(Into::into).collect();
        let row = LegacyRow {
            kind: "role",
            legacy_id: r.id,
            entity_id: id.as_uuid(),
            hash,
        };
        self.plan
            .roles
            .push((action, row, id, domain, name, privileges));
        Ok(())
    }

    async fn plan_user(&mut self, u: format::User, hash: String) -> Result<(), Refusal> {
        let (domain, domain_name, realm) = self.domain(&u.domain).await?;
        let mut p = FieldParser::new();
        let email = p.field("email", EmailAddress::parse(&u.email));
        let display_name = p.field("display_name", DisplayName::parse(&u.display_name));
        let notification = p.optional(
            "notification_email",
            u.notification_email.as_deref(),
            EmailAddress::parse,
        );
        let org_unit = p.optional("org_unit", u.org_unit.as_deref(), OrgUnitPath::parse);
        let (email, display_name) = p
            .finish(|| Some((email?, display_name?)))
            .map_err(parse_err)?;
        check_email_in_domain(&email, &domain_name).map_err(|e| e.to_string())?;
        if !crate::auth::password::is_supported_hash(&u.password_hash) {
            return Err("password_hash: must be an argon2 PHC string or a bcrypt hash".to_owned());
        }
        let mut roles = Vec::with_capacity(u.roles.len());
        for raw in &u.roles {
            let role = match raw.parse::<BuiltInRole>() {
                Ok(b) => RoleRef::BuiltIn(b),
                Err(_) => {
                    let (id, role_domain) = *self
                        .roles
                        .get(raw)
                        .ok_or_else(|| format!("roles: no role {raw} in the file"))?;
                    if role_domain != domain {
                        return Err(format!("roles: the role {raw} belongs to another domain"));
                    }
                    RoleRef::Custom(id)
                }
            };
            // The retired role is kept as imported (it grants nothing and shows a notice);
            // every other role must be one this realm can hold.
            if role != RoleRef::BuiltIn(BuiltInRole::SupportManager) {
                check_assignable(role, realm).map_err(|e| format!("roles: {e}"))?;
            }
            if role == RoleRef::BuiltIn(BuiltInRole::SuperAdmin) {
                check_super_admin_email(&email).map_err(|e| e.to_string())?;
            }
            roles.push(role);
        }
        // The old center's support staff worked every case; here that takes `support`, so a
        // provider user keeps its work through the support_agent role.
        let works_cases = |r: &RoleRef| {
            matches!(
                r,
                RoleRef::BuiltIn(BuiltInRole::SuperAdmin | BuiltInRole::SupportAgent)
            )
        };
        if realm == Realm::Provider && !roles.iter().any(works_cases) {
            roles.push(RoleRef::BuiltIn(BuiltInRole::SupportAgent));
        }
        let (action, entity) = self.action("user", &u.id, &hash)?;
        let id = entity
            .map(UserId::from_uuid)
            .unwrap_or_else(UserId::generate);
        if action == Action::Create
            && identity::find_user_by_email(self.db.reader(), domain, email.as_str())
                .await
                .map_err(|e| e.to_string())?
                .is_some()
        {
            return Err(format!(
                "the user {email} exists already and was not imported"
            ));
        }
        self.users.insert(
            u.id.clone(),
            UserInfo {
                id,
                domain,
                email: email.clone(),
            },
        );
        self.summary.count("user", action);
        let new = NewUser {
            id,
            domain_id: domain,
            email,
            display_name,
            password_hash: u.password_hash,
            must_change_password: false,
            org_unit: org_unit.map(|o| o.as_str().to_owned()),
            notification_email: notification,
        };
        let row = LegacyRow {
            kind: "user",
            legacy_id: u.id,
            entity_id: id.as_uuid(),
            hash,
        };
        self.plan.users.push((action, row, new, u.suspended, roles));
        Ok(())
    }

    async fn plan_customer(&mut self, c: format::Customer, hash: String) -> Result<(), Refusal> {
        let mut p = FieldParser::new();
        let name = p.field("name", DisplayName::parse(&c.name));
        let address =
            DomainPostalAddress::parse(&mut p, "postal_address", c.postal_address.input());
        let contact = DomainContact::parse(
            &mut p,
            "contact",
            &c.contact.name,
            &c.contact.email,
            c.contact.phone.as_deref(),
        );
        let (name, address, contact) = p
            .finish(|| Some((name?, address?, contact?)))
            .map_err(parse_err)?;
        let (address, contact) = (PostalAddressData::from(address), ContactData::from(contact));
        let (domain, _, realm) = self.domain(&c.domain).await?;
        if realm != Realm::Customer {
            return Err("domain: must be a customer domain".to_owned());
        }
        let (reseller, _, realm) = self.domain(&c.reseller_domain).await?;
        if realm != Realm::Reseller {
            return Err("reseller_domain: must be a reseller domain".to_owned());
        }
        let mut partners = Vec::new();
        for legacy in &c.support_partners {
            let (partner, _, realm) = self.domain(legacy).await?;
            if realm != Realm::Reseller || partner == reseller {
                return Err(format!(
                    "support_partners: {legacy} must be a reseller domain other than the reseller"
                ));
            }
            if !partners.contains(&partner) {
                partners.push(partner);
            }
        }
        let (action, entity) = self.action("customer", &c.id, &hash)?;
        let id = entity
            .map(CustomerId::from_uuid)
            .unwrap_or_else(CustomerId::generate);
        if action == Action::Create
            && customers::find_customer_by_domain(self.db.reader(), domain)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
        {
            return Err("the domain has a customer already that was not imported".to_owned());
        }
        let access: ResellerAccess = c.reseller_access.into();
        let management = Management {
            reseller,
            reseller_access: access,
            support_partners: partners.clone(),
        };
        self.customers.insert(
            c.id.clone(),
            CustomerInfo {
                id,
                domain,
                management,
                tier: c.support_tier.into(),
            },
        );
        self.summary.count("customer", action);
        let tier: SupportTier = c.support_tier.into();
        let row = LegacyRow {
            kind: "customer",
            legacy_id: c.id,
            entity_id: id.as_uuid(),
            hash,
        };
        self.plan.customers.push((
            action,
            row,
            CustomerPlan {
                new: NewCustomer {
                    name: name.into_inner(),
                    domain_id: domain,
                    reseller_domain_id: reseller,
                    support_tier: tier,
                    postal_address: address,
                    contact,
                },
                id,
                access,
                partners,
            },
        ));
        Ok(())
    }

    async fn plan_case(&mut self, c: format::Case, hash: String) -> Result<(), Refusal> {
        let mut p = FieldParser::new();
        let title = p.field("title", CaseTitle::parse(&c.title));
        let description = p.field("description", Description::parse(&c.description));
        let classification = p.field(
            "classification_id",
            c.classification_id.parse::<ClassificationId>(),
        );
        let language = p.field("language_code", LanguageCode::parse(&c.language_code));
        let time_zone = p.field("time_zone", TimeZone::parse(&c.time_zone));
        let answers: Vec<(String, Option<Answer>)> = c
            .answers
            .iter()
            .map(|(k, v)| (k.clone(), p.field(format!("answers.{k}"), Answer::parse(v))))
            .collect();
        let subscribers = Subscribers::parse(&mut p, "subscriber_emails", &c.subscriber_emails);
        let justification = c.escalation.as_ref().and_then(|e| {
            p.field(
                "escalation.justification",
                Justification::parse(&e.justification),
            )
        });
        let comment_bodies: Vec<Option<CommentBody>> = c
            .comments
            .iter()
            .enumerate()
            .map(|(i, m)| p.field(format!("comments[{i}].body"), CommentBody::parse(&m.body)))
            .collect();
        let (title, description, classification, language, time_zone, subscribers) = p
            .finish(|| {
                Some((
                    title?,
                    description?,
                    classification?,
                    language?,
                    time_zone?,
                    subscribers?,
                ))
            })
            .map_err(parse_err)?;
        let product_type: casebridge_domain::ProductType = c.product_type.into();
        check_category_of_product(
            self.classifications.get(&classification).copied(),
            product_type,
        )
        .map_err(parse_err)?;
        let answers: BTreeMap<String, String> = answers
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v.into_inner())))
            .collect();
        let subscriber_strings: Vec<String> = subscribers.to_strings();
        let (customer, customer_domain, management, tier) = self.customer(&c.customer).await?;
        let (creator, creator_domain, creator_email) = self.user(&c.creator).await?;
        let status: casebridge_domain::CaseStatus = c.status.into();
        let lifecycle = Lifecycle {
            status,
            close_time: c.close_time,
            escalation: match (c.escalation.as_ref(), justification) {
                (Some(e), Some(justification)) => Some(Escalation {
                    reason: e.reason.into(),
                    justification,
                    time: e.time,
                }),
                _ => None,
            },
        };
        if !lifecycle.is_consistent() {
            return Err("close_time: must be given exactly when the status is closed".to_owned());
        }
        if c.update_time < c.create_time {
            return Err("update_time: must not be before create_time".to_owned());
        }
        let partner_domains = match &c.partner_domains {
            Some(list) => {
                let mut out = Vec::new();
                for legacy in list {
                    let (d, _, realm) = self.domain(legacy).await?;
                    if realm != Realm::Reseller {
                        return Err(format!(
                            "partner_domains: {legacy} is not a reseller domain"
                        ));
                    }
                    out.push(d);
                }
                out
            }
            None => management.partner_domains(),
        };
        let mut comments = Vec::with_capacity(c.comments.len());
        let mut texts: Vec<(String, String)> = vec![
            ("title".to_owned(), title.as_str().to_owned()),
            ("description".to_owned(), description.as_str().to_owned()),
        ];
        for (k, v) in &answers {
            texts.push((format!("answers.{k}"), v.clone()));
        }
        let mut comment_actions = Vec::new();
        for (i, (m, body)) in c.comments.iter().zip(comment_bodies).enumerate() {
            let body = body.ok_or_else(|| format!("comments[{i}].body: invalid"))?;
            let (author_user_id, author_email, author_domain_id, party) =
                match (&m.author, &m.author_email) {
                    (Some(author), _) => {
                        let (u, d, e) = self.user(author).await?;
                        let party = match m.party {
                            Some(p) => party_of(p),
                            None if d == customer_domain => Party::Customer,
                            None => Party::Partner,
                        };
                        (Some(u), e.to_string(), Some(d), party)
                    }
                    (None, Some(email)) => {
                        let email = EmailAddress::parse(email)
                            .map_err(|e| format!("comments[{i}].author_email: {}", e.message))?;
                        (
                            None,
                            email.to_string(),
                            None,
                            m.party.map(party_of).unwrap_or(Party::Support),
                        )
                    }
                    (None, None) => {
                        return Err(format!("comments[{i}]: give author or author_email"));
                    }
                };
            texts.push((format!("comments[{i}].body"), body.as_str().to_owned()));
            let comment_hash = hex::encode(Sha256::digest(format!("{hash}/{}", m.id).as_bytes()));
            let (action, entity) = match self.existing.get(&("comment".to_owned(), m.id.clone())) {
                None => (Action::Create, None),
                Some(e) if e.hash == comment_hash => (Action::Unchanged, Some(e.entity_id)),
                Some(e) => (Action::Update, Some(e.entity_id)),
            };
            if !self.seen.insert(("comment", m.id.clone())) {
                return Err(format!(
                    "comments[{i}]: a comment with id {} appears twice",
                    m.id
                ));
            }
            let id = entity
                .map(CommentId::from_uuid)
                .unwrap_or_else(CommentId::generate);
            comment_actions.push((
                action,
                LegacyRow {
                    kind: "comment",
                    legacy_id: m.id.clone(),
                    entity_id: id.as_uuid(),
                    hash: comment_hash,
                },
            ));
            comments.push(ImportedComment {
                id,
                body: body.into_inner(),
                author_user_id,
                author_email,
                author_domain_id,
                party,
                create_time: m.create_time,
            });
        }
        check_no_personal_data(
            texts.iter().map(|(f, t)| (f.clone(), t.as_str())),
            &participants(creator_email.as_str(), &subscriber_strings),
        )
        .map_err(parse_err)?;
        let (action, entity) = self.action("case", &c.id, &hash)?;
        let id = entity
            .map(CaseId::from_uuid)
            .unwrap_or_else(CaseId::generate);
        let case_number = match c.case_number {
            Some(n) if n < 1 => return Err("case_number: must be positive".to_owned()),
            Some(n) => {
                if self
                    .numbers_in_use
                    .get(&n)
                    .is_some_and(|owner| *owner != id.as_uuid())
                {
                    return Err(format!("case_number: {n} is taken by another case"));
                }
                self.plan.numbered = true;
                n
            }
            None => match self
                .numbers_in_use
                .iter()
                .find(|(_, owner)| **owner == id.as_uuid())
            {
                Some((n, _)) => *n,
                None => {
                    while self.numbers_in_use.contains_key(&self.next_number) {
                        self.next_number += 1;
                    }
                    self.next_number
                }
            },
        };
        self.numbers_in_use.insert(case_number, id.as_uuid());
        self.summary.count("case", action);
        let severity: casebridge_domain::Severity = c.severity.into();
        let target = filed_target(&self.policy, tier, severity, c.create_time, &time_zone);
        let first_responded_time = comments
            .iter()
            .filter(|m| m.party == Party::Support)
            .map(|m| m.create_time)
            .min();
        // The target stopped at support's first reply, or at a close before it.
        let target_stopped_time = match (first_responded_time, lifecycle.close_time) {
            (Some(replied), Some(closed)) => Some(replied.min(closed)),
            (replied, closed) => replied.or(closed),
        };
        let imported = ImportedCase {
            service_tier: Some(tier),
            target,
            first_responded_time,
            target_stopped_time,
            // Only a target still running at the run can breach later; a breach before the run
            // is history, with no timeline event.
            breach_pending: target.is_some_and(|t| t.due >= self.now)
                && target_stopped_time.is_none(),
            id,
            case_number,
            customer_id: customer,
            product_type,
            title: title.into_inner(),
            classification_id: classification,
            description: description.into_inner(),
            answers,
            severity: c.severity.into(),
            lifecycle,
            language_code: language.to_string(),
            time_zone: time_zone.to_string(),
            subscriber_emails: subscriber_strings,
            creator_user_id: Some(creator),
            creator_email: creator_email.to_string(),
            creator_domain_id: creator_domain,
            reseller_domain_id: management.reseller,
            create_time: c.create_time,
            update_time: c.update_time,
            partner_domains,
            comments,
        };
        for (a, _) in &comment_actions {
            self.summary.count("comment", *a);
        }
        let row = LegacyRow {
            kind: "case",
            legacy_id: c.id,
            entity_id: id.as_uuid(),
            hash,
        };
        match action {
            Action::Create => self.plan.new_cases.push(imported),
            Action::Update => {
                let replaced: Vec<CommentId> = comment_actions
                    .iter()
                    .filter(|(a, _)| *a != Action::Create)
                    .map(|(_, r)| CommentId::from_uuid(r.entity_id))
                    .collect();
                self.plan.changed_cases.push((imported, replaced));
            }
            Action::Unchanged => {}
        }
        self.plan.case_rows.push((action, row));
        self.plan.comment_rows.extend(comment_actions);
        Ok(())
    }
}

fn party_of(p: format::Party) -> Party {
    match p {
        format::Party::Partner => Party::Partner,
        format::Party::Customer => Party::Customer,
        format::Party::Support => Party::Support,
    }
}

// ---------------------------------------------------------------- running

/// Imports the file: checks it all, then (unless a dry run) writes it in one transaction.
pub async fn run(db: &Database, path: &Path, options: Options) -> Result<Summary, ImportError> {
    let started = Instant::now();
    let io = |source| ImportError::Io {
        path: path.display().to_string(),
        source,
    };
    let total = BufReader::new(std::fs::File::open(path).map_err(io)?)
        .lines()
        .count();
    let mut progress = Progress {
        enabled: options.progress,
        total,
        started,
        last: Instant::now(),
    };
    let classifications = all_classifications(db).await?;
    let numbers_in_use = legacy::case_numbers_in_use(db.reader()).await?;
    let next_number = numbers_in_use.keys().max().copied().unwrap_or(0) + 1;
    let mut planner = Planner {
        db,
        existing: legacy::load(db.reader()).await?,
        domains: HashMap::new(),
        roles: HashMap::new(),
        users: HashMap::new(),
        customers: HashMap::new(),
        classifications,
        policy: service_levels::policy(db.reader()).await?,
        now: OffsetDateTime::now_utc(),
        numbers_in_use,
        seen: HashSet::new(),
        next_number,
        plan: Plan::default(),
        summary: Summary::default(),
    };
    let reader = BufReader::new(std::fs::File::open(path).map_err(io)?);
    let mut header_seen = false;
    for (index, line) in reader.lines().enumerate() {
        let line_no = index + 1;
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let refuse = |id: Option<String>, reason: String| ImportError::Record {
            line: line_no,
            id,
            reason,
        };
        let (record, id) = format::parse_line(&line).map_err(|r| refuse(None, r))?;
        if !header_seen {
            match &record {
                Record::Export(e) if e.format == format::FORMAT && e.version == format::VERSION => {
                    header_seen = true;
                    continue;
                }
                Record::Export(e) => {
                    return Err(refuse(
                        None,
                        format!(
                            "this build reads {} version {}, not {} version {}",
                            format::FORMAT,
                            format::VERSION,
                            e.format,
                            e.version
                        ),
                    ));
                }
                _ => {
                    return Err(refuse(
                        id,
                        "the first record must be the export header".to_owned(),
                    ));
                }
            }
        }
        planner.summary.records += 1;
        let hash = record_hash(&line);
        let result = match record {
            Record::Export(_) => Err("only the first record is an export header".to_owned()),
            Record::Domain(d) => planner.plan_domain(d, hash).await,
            Record::Role(r) => planner.plan_role(r, hash).await,
            Record::User(u) => planner.plan_user(u, hash).await,
            Record::Customer(c) => planner.plan_customer(c, hash).await,
            Record::Case(c) => planner.plan_case(*c, hash).await,
        };
        result.map_err(|r| refuse(id, r))?;
        progress.tick("checking", line_no);
    }
    if !header_seen {
        return Err(ImportError::Record {
            line: 1,
            id: None,
            reason: "the file is empty".to_owned(),
        });
    }
    let Planner {
        plan, mut summary, ..
    } = planner;
    if !options.dry_run {
        apply(db, plan, &mut progress).await?;
    }
    progress.done();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

async fn all_classifications(
    db: &Database,
) -> Result<HashMap<ClassificationId, casebridge_domain::ProductType>, ImportError> {
    let mut out = HashMap::new();
    let mut after = None;
    loop {
        let (page, _) =
            classifications::search_classifications(db.reader(), None, after.clone(), 500).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.display_name.clone(), last.id.as_uuid()));
        let n = page.len();
        for c in page {
            out.insert(c.id, c.product_type);
        }
        if n < 500 {
            break;
        }
    }
    Ok(out)
}

async fn apply(db: &Database, plan: Plan, progress: &mut Progress) -> Result<(), PersistenceError> {
    let now = OffsetDateTime::now_utc();
    let tx = db.begin().await?;
    let mut new_rows: Vec<LegacyRow> = Vec::new();
    let mut changed_rows: Vec<LegacyRow> = Vec::new();
    let mut file = |action: Action, row: LegacyRow| match action {
        Action::Create => new_rows.push(row),
        Action::Update => changed_rows.push(row),
        Action::Unchanged => {}
    };
    for (action, row, id, name, realm) in plan.domains {
        match action {
            Action::Create => {
                identity::insert_domain(&tx, id, &name, realm, now).await?;
            }
            Action::Update => identity::rename_domain(&tx, id, &name).await?,
            Action::Unchanged => {}
        }
        file(action, row);
    }
    for (action, row, id, domain, name, privileges) in plan.roles {
        match action {
            Action::Create => {
                identity::insert_role_with_id(&tx, id, domain, &name, &privileges, now).await?
            }
            Action::Update => identity::update_role(&tx, id, &name, &privileges).await?,
            Action::Unchanged => {}
        }
        file(action, row);
    }
    for (action, row, user, suspended, roles) in plan.users {
        match action {
            Action::Create => {
                identity::insert_user(&tx, &user, now).await?;
                if suspended {
                    identity::update_user(
                        &tx,
                        user.domain_id,
                        user.id,
                        &UserChanges {
                            suspended: Some(true),
                            ..Default::default()
                        },
                        now,
                    )
                    .await?;
                }
                identity::replace_roles(&tx, user.id, &roles).await?;
            }
            Action::Update => {
                let changes = UserChanges {
                    suspended: Some(suspended),
                    password_hash: Some((user.password_hash.clone(), false)),
                    notification_email: Some(user.notification_email.clone()),
                    display_name: Some(user.display_name.clone()),
                    org_unit: Some(user.org_unit.clone()),
                };
                identity::update_user(&tx, user.domain_id, user.id, &changes, now).await?;
                identity::replace_roles(&tx, user.id, &roles).await?;
            }
            Action::Unchanged => {}
        }
        file(action, row);
    }
    for (action, row, c) in plan.customers {
        match action {
            Action::Create => {
                customers::insert_customer_with_id(&tx, c.id, &c.new, now).await?;
                customers::set_reseller_access(&tx, c.id, c.access, now).await?;
                for p in &c.partners {
                    customers::add_support_partner(&tx, c.id, *p, now).await?;
                }
                audit::record(
                    &tx,
                    &audit::AuditActor::default(),
                    audit::NewEvent {
                        action: "customer.imported",
                        subject_type: "customer",
                        subject_id: c.id.to_string(),
                        customer_id: Some(c.id),
                        case_id: None,
                        details: serde_json::json!({"legacy_id": row.legacy_id}),
                        audience: Vec::new(),
                    },
                    now,
                )
                .await?;
            }
            Action::Update => {
                let current = customers::find_customer(&tx, c.id)
                    .await?
                    .ok_or(PersistenceError::NotFound)?;
                customers::update_customer(
                    &tx,
                    c.id,
                    &CustomerChanges {
                        name: Some(c.new.name.clone()),
                        support_tier: Some(c.new.support_tier),
                        postal_address: Some(c.new.postal_address.clone()),
                        contact: Some(c.new.contact.clone()),
                    },
                    now,
                )
                .await?;
                let mut management = customers::management(&tx, &current).await?;
                if management.reseller != c.new.reseller_domain_id {
                    let after = management.transfer_to(c.new.reseller_domain_id)?;
                    customers::apply_transfer(&tx, c.id, &management, &after, now).await?;
                    management = after;
                }
                customers::set_reseller_access(&tx, c.id, c.access, now).await?;
                for p in &management.support_partners {
                    if !c.partners.contains(p) {
                        customers::remove_support_partner(&tx, c.id, *p).await?;
                    }
                }
                for p in &c.partners {
                    if !management.support_partners.contains(p) {
                        customers::add_support_partner(&tx, c.id, *p, now).await?;
                    }
                }
            }
            Action::Unchanged => {}
        }
        file(action, row);
    }
    let total_new = plan.new_cases.len();
    for (i, chunk) in plan.new_cases.chunks(2000).enumerate() {
        legacy::insert_cases(&tx, chunk, legacy::BulkOrigin::LegacyImport, now).await?;
        progress.tick("writing cases", ((i + 1) * 2000).min(total_new));
    }
    for (case, replaced) in &plan.changed_cases {
        legacy::replace_case(&tx, case, replaced, now).await?;
    }
    for (action, row) in plan.case_rows.into_iter().chain(plan.comment_rows) {
        file(action, row);
    }
    legacy::insert_rows(&tx, &new_rows, now).await?;
    for row in &changed_rows {
        legacy::rehash(&tx, row, now).await?;
    }
    if plan.numbered || total_new > 0 {
        legacy::sync_case_numbers(&tx).await?;
    }
    tx.commit().await?;
    // The import's commit only added to the keyword index: merged here, before anyone searches
    // (a server merges it too, but only while it runs); PostgreSQL's running sums per partner,
    // a row for each change, are folded likewise.
    search::merge_index_fully(db).await?;
    housekeeping::fold_seen_counts(db).await.map(|_| ())
}
