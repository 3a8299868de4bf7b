//! Data to try and to measure the service with: `casebridge demo` fills an empty database with a
//! small, realistic world to explore from `/docs`; `casebridge seed` writes large data sets in
//! bulk (multi-row inserts, one transaction per slice) for the benchmarks.
//!
//! Both write through the repositories the service uses, so that what they make is what the API
//! makes: cases with their access rows, comments, keyword index entries and a first event
//! (`case.seeded`).

use std::collections::BTreeMap;
use std::time::Instant;

use casebridge_domain::case::Escalation;
use casebridge_domain::{
    BuiltInRole, CaseId, CaseStatus, ClassificationId, CommentId, CustomerId, DisplayName,
    DomainId, DomainName, EmailAddress, EscalationReason, Justification, Lifecycle, Party,
    ProductType, Realm, ResellerAccess, RoleRef, Severity, SupportTier, UserId,
};
use casebridge_persistence::repo::customers::{self, ContactData, NewCustomer, PostalAddressData};
use casebridge_persistence::repo::identity::{self, NewUser};
use casebridge_persistence::repo::legacy::{self, BulkOrigin, ImportedCase, ImportedComment};
use casebridge_persistence::repo::{classifications, housekeeping, search};
use casebridge_persistence::{Connection as _, Database, PersistenceError};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use time::{Duration, OffsetDateTime};

use crate::auth::password;

/// Why demo or seed data could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The database holds domains already.
    #[error("the database is not empty (it holds {0} domains); demo and seed fill an empty one")]
    NotEmpty(u64),
    /// An option is out of range.
    #[error("{0}")]
    Invalid(String),
    /// The catalogue has no category to file cases under.
    #[error("the case catalogue is empty")]
    NoClassifications,
    /// Hashing the password failed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
    /// The database refused.
    #[error(transparent)]
    Persistence(#[from] PersistenceError),
}

/// An account to sign in with.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// Who it is, in words.
    pub role: String,
    /// The domain to sign in to.
    pub domain: String,
    /// The account's email.
    pub email: String,
}

/// What `demo` made.
#[derive(Debug)]
pub struct DemoWorld {
    /// The password of every account.
    pub password: String,
    /// The accounts.
    pub sign_ins: Vec<SignIn>,
    /// How many cases.
    pub cases: usize,
}

/// What `seed` should make.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// How many cases.
    pub cases: u64,
    /// Over how many reseller domains.
    pub resellers: u64,
    /// Over how many customers (spread evenly over the resellers).
    pub customers: u64,
    /// Comments per case.
    pub comments_per_case: u64,
    /// The password of every reseller admin.
    pub password: String,
    /// Seed of the random choices, so that a data set can be made again.
    pub random_seed: u64,
    /// Report progress on stderr.
    pub progress: bool,
}

/// What `seed` made.
#[derive(Debug)]
pub struct SeedSummary {
    /// Reseller domains `reseller-NNN.seed.example`, each with `admin@` as super admin.
    pub resellers: u64,
    /// Customers.
    pub customers: u64,
    /// Cases.
    pub cases: u64,
    /// Comments.
    pub comments: u64,
    /// Seconds taken.
    pub seconds: f64,
}

/// The name of the `i`th seeded reseller domain.
pub fn seed_reseller_domain(i: u64) -> String {
    format!("reseller-{i:03}.seed.example")
}

async fn require_empty(db: &Database) -> Result<(), SeedError> {
    let domains = identity::count_domains(db.reader()).await?;
    if domains > 0 {
        return Err(SeedError::NotEmpty(domains));
    }
    Ok(())
}

async fn hash(secret: String) -> Result<String, SeedError> {
    tokio::task::spawn_blocking(move || password::hash(&secret))
        .await
        .map_err(|e| SeedError::Hash(e.to_string()))?
        .map_err(|e| SeedError::Hash(e.to_string()))
}

fn parsed<T>(what: &str, r: Result<T, casebridge_domain::InvalidValue>) -> Result<T, SeedError> {
    r.map_err(|e| SeedError::Invalid(format!("{what}: {}", e.message)))
}

/// A domain with its super admin.
async fn domain_with_admin(
    conn: &impl casebridge_persistence::Connection,
    name: &str,
    realm: Realm,
    admin_name: &str,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<(DomainId, UserId, String), SeedError> {
    let domain_name = parsed("domain", DomainName::parse(name))?;
    let domain =
        identity::insert_domain(conn, DomainId::generate(), &domain_name, realm, now).await?;
    let email = format!("admin@{name}");
    let admin = identity::insert_user(
        conn,
        &NewUser {
            id: UserId::generate(),
            domain_id: domain.id,
            email: parsed("email", EmailAddress::parse(&email))?,
            display_name: parsed("name", DisplayName::parse(admin_name))?,
            password_hash: password_hash.to_owned(),
            must_change_password: false,
            org_unit: None,
            notification_email: None,
        },
        now,
    )
    .await?;
    identity::replace_roles(conn, admin.id, &[RoleRef::BuiltIn(BuiltInRole::SuperAdmin)]).await?;
    Ok((domain.id, admin.id, email))
}

/// A customer of a reseller, with its own domain.
struct NewSeedCustomer<'a> {
    name: &'a str,
    domain: DomainId,
    reseller: DomainId,
    tier: SupportTier,
    access: ResellerAccess,
    city: &'a str,
    country: &'a str,
    contact_email: String,
}

async fn customer(
    conn: &impl casebridge_persistence::Connection,
    c: NewSeedCustomer<'_>,
    now: OffsetDateTime,
) -> Result<CustomerId, SeedError> {
    let id = CustomerId::generate();
    customers::insert_customer_with_id(
        conn,
        id,
        &NewCustomer {
            name: c.name.to_owned(),
            domain_id: c.domain,
            reseller_domain_id: c.reseller,
            support_tier: c.tier,
            postal_address: PostalAddressData {
                lines: vec!["1 Harbour Street".to_owned()],
                locality: c.city.to_owned(),
                region: None,
                postal_code: Some("10115".to_owned()),
                country_code: c.country.to_owned(),
            },
            contact: ContactData {
                name: "IT service desk".to_owned(),
                email: c.contact_email,
                phone: None,
            },
        },
        now,
    )
    .await?;
    customers::set_reseller_access(conn, id, c.access, now).await?;
    Ok(id)
}

/// The catalogue's categories of a product, with the questions each requires.
async fn categories(db: &Database) -> Result<Vec<(ClassificationId, Vec<String>)>, SeedError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let (page, _) =
            classifications::search_classifications(db.reader(), None, after, 500).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.display_name.clone(), last.id.as_uuid()));
        let n = page.len();
        out.extend(
            page.into_iter()
                .filter(|c| c.product_type == ProductType::GoogleWorkspace)
                .map(|c| {
                    let required = c
                        .questions
                        .into_iter()
                        .filter(|q| q.required)
                        .map(|q| q.id)
                        .collect();
                    (c.id, required)
                }),
        );
        if n < 500 {
            break;
        }
    }
    if out.is_empty() {
        return Err(SeedError::NoClassifications);
    }
    Ok(out)
}

/// The lifecycle of a case in a status: closed ones closed at `at`; open ones escalated at `at`
/// when a justification is given.
fn lifecycle(
    status: CaseStatus,
    escalation: Option<Justification>,
    at: OffsetDateTime,
) -> Lifecycle {
    Lifecycle {
        status,
        close_time: (status == CaseStatus::Closed).then_some(at),
        escalation: escalation
            .filter(|_| status != CaseStatus::Closed)
            .map(|justification| Escalation {
                reason: EscalationReason::BusinessImpact,
                justification,
                time: at,
            }),
    }
}

/// One case to write.
struct CaseDraft<'a> {
    customer: CustomerId,
    reseller: DomainId,
    creator: (UserId, &'a str),
    category: &'a (ClassificationId, Vec<String>),
    title: String,
    description: String,
    severity: Severity,
    status: CaseStatus,
    escalation: Option<Justification>,
    created: OffsetDateTime,
    comments: Vec<(Party, String)>,
    support_domain: Option<DomainId>,
}

fn draft_case(d: CaseDraft<'_>, number: i64) -> ImportedCase {
    let step = Duration::hours(3);
    let comments: Vec<ImportedComment> = d
        .comments
        .into_iter()
        .enumerate()
        .map(|(i, (party, body))| {
            let (author_user_id, author_email, author_domain_id) = match party {
                Party::Support => (
                    None,
                    "support-engineer@casebridge.example".to_owned(),
                    d.support_domain,
                ),
                _ => (Some(d.creator.0), d.creator.1.to_owned(), Some(d.reseller)),
            };
            ImportedComment {
                id: CommentId::generate(),
                body,
                author_user_id,
                author_email,
                author_domain_id,
                party,
                create_time: d.created + step * (i as i32 + 1),
            }
        })
        .collect();
    let updated = comments
        .last()
        .map_or(d.created, |c| c.create_time)
        .max(d.created + step);
    let answers: BTreeMap<String, String> = d
        .category
        .1
        .iter()
        .map(|q| (q.clone(), "Since Monday morning".to_owned()))
        .collect();
    ImportedCase {
        id: CaseId::generate(),
        case_number: number,
        customer_id: d.customer,
        product_type: ProductType::GoogleWorkspace,
        title: d.title,
        classification_id: d.category.0,
        description: d.description,
        answers,
        severity: d.severity,
        lifecycle: lifecycle(d.status, d.escalation, updated),
        language_code: "en-US".to_owned(),
        time_zone: "America/New_York".to_owned(),
        subscriber_emails: Vec::new(),
        creator_user_id: Some(d.creator.0),
        creator_email: d.creator.1.to_owned(),
        creator_domain_id: d.reseller,
        reseller_domain_id: d.reseller,
        // Benchmark data carries no service levels: they are computed per case at filing.
        service_tier: None,
        target: None,
        first_responded_time: None,
        target_stopped_time: None,
        breach_pending: false,
        create_time: d.created,
        update_time: updated,
        partner_domains: vec![d.reseller],
        comments,
    }
}

/// Fills an empty database with a small world: a provider, two partners (one with two reseller
/// domains), customers on every support tier (one that has not authorised its reseller yet, one
/// with a support partner), and cases in every status, one of them escalated.
pub async fn demo(db: &Database, now: OffsetDateTime) -> Result<DemoWorld, SeedError> {
    require_empty(db).await?;
    let secret = password::one_time_password();
    let hash = hash(secret.clone()).await?;
    let cats = categories(db).await?;
    let tx = db.begin().await?;
    let mut sign_ins = Vec::new();
    let mut sign_in = |role: &str, domain: &str, email: &str| {
        sign_ins.push(SignIn {
            role: role.to_owned(),
            domain: domain.to_owned(),
            email: email.to_owned(),
        });
    };

    let (provider, _, email) = domain_with_admin(
        &tx,
        "support.casebridge.example",
        Realm::Provider,
        "Provider administrator",
        &hash,
        now,
    )
    .await?;
    sign_in("provider super admin", "support.casebridge.example", &email);
    // Support staff work cases through the support_agent role; they provision nothing.
    let support_email = "agent@support.casebridge.example";
    let support_agent = identity::insert_user(
        &tx,
        &NewUser {
            id: UserId::generate(),
            domain_id: provider,
            email: parsed("email", EmailAddress::parse(support_email))?,
            display_name: parsed("name", DisplayName::parse("Sam Support"))?,
            password_hash: hash.clone(),
            must_change_password: false,
            org_unit: None,
            notification_email: None,
        },
        now,
    )
    .await?;
    identity::replace_roles(
        &tx,
        support_agent.id,
        &[RoleRef::BuiltIn(BuiltInRole::SupportAgent)],
    )
    .await?;
    sign_in(
        "provider support agent",
        "support.casebridge.example",
        support_email,
    );

    let mut resellers = Vec::new();
    for (name, partner) in [
        ("northwind.example", "Northwind Partners (Americas)"),
        ("northwind-eu.example", "Northwind Partners (Europe)"),
        ("contoso-partners.example", "Contoso Partners"),
    ] {
        let (id, admin, email) = domain_with_admin(
            &tx,
            name,
            Realm::Reseller,
            "Partner administrator",
            &hash,
            now,
        )
        .await?;
        sign_in(&format!("{partner}: super admin"), name, &email);
        resellers.push((id, admin, email));
    }
    let agent_email = "agent@northwind.example";
    let agent = identity::insert_user(
        &tx,
        &NewUser {
            id: UserId::generate(),
            domain_id: resellers[0].0,
            email: parsed("email", EmailAddress::parse(agent_email))?,
            display_name: parsed("name", DisplayName::parse("Alex Agent"))?,
            password_hash: hash.clone(),
            must_change_password: false,
            org_unit: Some("/Support".to_owned()),
            notification_email: None,
        },
        now,
    )
    .await?;
    identity::replace_roles(
        &tx,
        agent.id,
        &[RoleRef::BuiltIn(BuiltInRole::ResellerAdmin)],
    )
    .await?;
    sign_in(
        "Northwind Partners (Americas): support agent",
        "northwind.example",
        agent_email,
    );

    let customers_spec = [
        (
            "Fabrikam",
            "fabrikam.example",
            0,
            SupportTier::Premium,
            ResellerAccess::Granted,
            "Chicago",
            "US",
        ),
        (
            "Tailspin Toys",
            "tailspin.example",
            0,
            SupportTier::Enhanced,
            ResellerAccess::Granted,
            "Seattle",
            "US",
        ),
        (
            "Wide World Importers",
            "wideworldimporters.example",
            0,
            SupportTier::Standard,
            ResellerAccess::Revoked,
            "Boston",
            "US",
        ),
        (
            "Adventure Works",
            "adventure-works.example",
            1,
            SupportTier::Premium,
            ResellerAccess::Granted,
            "Berlin",
            "DE",
        ),
        (
            "Litware",
            "litware.example",
            2,
            SupportTier::Standard,
            ResellerAccess::Granted,
            "Lyon",
            "FR",
        ),
    ];
    let mut customer_ids = Vec::new();
    for (name, domain, reseller, tier, access, city, country) in customers_spec {
        let (domain_id, _, email) = domain_with_admin(
            &tx,
            domain,
            Realm::Customer,
            "Customer administrator",
            &hash,
            now,
        )
        .await?;
        if name == "Fabrikam" {
            sign_in("Fabrikam (a customer): super admin", domain, &email);
        }
        let id = customer(
            &tx,
            NewSeedCustomer {
                name,
                domain: domain_id,
                reseller: resellers[reseller].0,
                tier,
                access,
                city,
                country,
                contact_email: format!("it@{domain}"),
            },
            now,
        )
        .await?;
        customer_ids.push((id, reseller));
    }
    // Litware also takes Northwind Europe on as a support partner.
    customers::add_support_partner(&tx, customer_ids[4].0, resellers[1].0, now).await?;

    let stories: [(&str, &str, Severity, CaseStatus, bool); 7] = [
        (
            "Mail to a partner domain bounces",
            "Since this morning every message to the partner domain bounces with 550 5.7.1.",
            Severity::P2,
            CaseStatus::New,
            false,
        ),
        (
            "Calendar invitations arrive hours late",
            "Invitations sent from the sales team reach attendees two to three hours late.",
            Severity::P3,
            CaseStatus::InProgressSupport,
            false,
        ),
        (
            "Shared drive quota reached",
            "The finance shared drive reports its quota as reached although it holds less than before.",
            Severity::P3,
            CaseStatus::ActionRequired,
            false,
        ),
        (
            "Sign-in loops on mobile devices",
            "Users on managed phones are sent back to the sign-in page after entering their password.",
            Severity::P2,
            CaseStatus::SolutionOffered,
            false,
        ),
        (
            "Meeting rooms missing from the room finder",
            "Three meeting rooms no longer appear in the room finder.",
            Severity::P4,
            CaseStatus::Closed,
            false,
        ),
        (
            "Outage of outbound mail",
            "No outbound message has left the domain for an hour; the queue keeps growing.",
            Severity::P1,
            CaseStatus::InProgressSupport,
            true,
        ),
        (
            "Groups cannot receive external mail",
            "Mail from outside to the support group is rejected.",
            Severity::P3,
            CaseStatus::New,
            false,
        ),
    ];
    let mut number = legacy::case_numbers_in_use(&tx)
        .await?
        .keys()
        .max()
        .copied()
        .unwrap_or(0);
    let justification = parsed(
        "justification",
        Justification::parse("No mail leaves the company: sales and support are blocked."),
    )?;
    let mut cases = Vec::new();
    for (i, (title, description, severity, status, escalated)) in stories.into_iter().enumerate() {
        // The first five (every status) for Fabrikam; the rest for the others that may file.
        let (customer_id, reseller) = match i {
            0..=4 => customer_ids[0],
            5 => customer_ids[3],
            _ => customer_ids[4],
        };
        let (reseller_id, admin, admin_email) = &resellers[reseller];
        let creator = if reseller == 0 {
            (agent.id, agent_email)
        } else {
            (*admin, admin_email.as_str())
        };
        number += 1;
        let mut comments = vec![(
            Party::Support,
            "Thank you, we are looking into it.".to_owned(),
        )];
        if status != CaseStatus::New {
            comments.push((Party::Partner, "It affects about forty users.".to_owned()));
        }
        cases.push(draft_case(
            CaseDraft {
                customer: customer_id,
                reseller: *reseller_id,
                creator,
                category: &cats[i % cats.len()],
                title: title.to_owned(),
                description: description.to_owned(),
                severity,
                status,
                escalation: escalated.then(|| justification.clone()),
                created: now - Duration::days(7 - i as i64),
                comments,
                support_domain: Some(provider),
            },
            number,
        ));
    }
    legacy::insert_cases(&tx, &cases, BulkOrigin::Seed, now).await?;
    legacy::sync_case_numbers(&tx).await?;
    tx.commit().await.map_err(PersistenceError::from)?;
    Ok(DemoWorld {
        password: secret,
        sign_ins,
        cases: cases.len(),
    })
}

const TOPICS: &[&str] = &[
    "mail delivery",
    "calendar sync",
    "shared drive",
    "sign-in",
    "meeting rooms",
    "groups",
    "mobile devices",
    "video meetings",
    "spam filter",
    "data export",
    "user provisioning",
    "directory sync",
    "retention policy",
    "storage quota",
    "domain verification",
    "mail routing",
];
const SYMPTOMS: &[&str] = &[
    "fails intermittently",
    "is slow since the weekend",
    "stopped working",
    "shows an error",
    "behaves differently for some users",
    "needs configuration help",
    "times out",
    "reports wrong numbers",
    "loses changes",
    "rejects valid input",
];
const DETAILS: &[&str] = &[
    "It started after the last change window.",
    "About forty users are affected.",
    "The problem appears in every browser.",
    "Restarting the device does not help.",
    "The audit log shows nothing unusual.",
    "A workaround exists but costs time.",
    "Only the European office sees it.",
    "It happens several times a day.",
];
const REPLIES: &[&str] = &[
    "Thank you, we are looking into it.",
    "Could you send the exact error message?",
    "We found the cause and are rolling out a fix.",
    "The fix is live; please confirm.",
    "It still happens for two users.",
    "Confirmed, it works again.",
];

/// Writes a large data set in bulk: `resellers` reseller domains (`reseller-NNN.seed.example`,
/// super admin `admin@` with the given password), `customers` customers spread evenly over them
/// (each with its own domain, authorised, every fourth on premium support), and `cases` cases
/// spread evenly over the customers, each with `comments_per_case` comments, times over the last
/// two years, statuses and severities at random (a fixed random seed makes the same set).
pub async fn seed(db: &Database, o: &SeedOptions) -> Result<SeedSummary, SeedError> {
    if o.resellers == 0 || o.customers < o.resellers {
        return Err(SeedError::Invalid(
            "--resellers must be at least 1 and --customers at least --resellers".to_owned(),
        ));
    }
    if o.resellers > 999 {
        return Err(SeedError::Invalid("--resellers is at most 999".to_owned()));
    }
    require_empty(db).await?;
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let hash = hash(o.password.clone()).await?;
    let cats = categories(db).await?;
    let mut rng = StdRng::seed_from_u64(o.random_seed);

    let tx = db.begin().await?;
    let mut resellers = Vec::with_capacity(o.resellers as usize);
    for i in 0..o.resellers {
        let (id, admin, email) = domain_with_admin(
            &tx,
            &seed_reseller_domain(i),
            Realm::Reseller,
            "Partner administrator",
            &hash,
            now,
        )
        .await?;
        resellers.push((id, admin, email));
    }
    let mut customer_list = Vec::with_capacity(o.customers as usize);
    for j in 0..o.customers {
        let name = format!("customer-{j:05}.seed.example");
        let domain = parsed("domain", DomainName::parse(&name))?;
        let domain_id =
            identity::insert_domain(&tx, DomainId::generate(), &domain, Realm::Customer, now)
                .await?
                .id;
        let reseller = (j % o.resellers) as usize;
        let id = customer(
            &tx,
            NewSeedCustomer {
                name: &format!("Customer {j:05}"),
                domain: domain_id,
                reseller: resellers[reseller].0,
                tier: if j % 4 == 0 {
                    SupportTier::Premium
                } else {
                    SupportTier::Standard
                },
                access: ResellerAccess::Granted,
                city: "Springfield",
                country: "US",
                contact_email: format!("it@{name}"),
            },
            now,
        )
        .await?;
        customer_list.push((id, reseller));
        if o.progress && j % 1000 == 999 {
            eprintln!("seed: {} customers", j + 1);
        }
    }
    tx.commit().await.map_err(PersistenceError::from)?;

    let mut number = legacy::case_numbers_in_use(db.reader())
        .await?
        .keys()
        .max()
        .copied()
        .unwrap_or(0);
    let span_secs = 730 * 86_400_i64;
    let statuses = CaseStatus::ALL;
    let severities = [Severity::P1, Severity::P2, Severity::P3, Severity::P4];
    const SLICE: u64 = 2_000;
    const PER_TRANSACTION: u64 = 50_000;
    let mut written = 0u64;
    while written < o.cases {
        let tx = db.begin().await?;
        let end = (written + PER_TRANSACTION).min(o.cases);
        while written < end {
            let n = SLICE.min(end - written);
            let mut slice = Vec::with_capacity(n as usize);
            for k in written..written + n {
                // Cases in time order, spread over two years; each customer gets its share.
                let (customer_id, reseller) = customer_list[(k % o.customers) as usize];
                let (reseller_id, admin, admin_email) = &resellers[reseller];
                let created = now - Duration::seconds(span_secs)
                    + Duration::seconds(span_secs * k as i64 / o.cases.max(1) as i64);
                let topic = TOPICS.choose(&mut rng).copied().unwrap_or("mail delivery");
                let symptom = SYMPTOMS.choose(&mut rng).copied().unwrap_or("fails");
                let comments = (0..o.comments_per_case)
                    .map(|c| {
                        let party = if c % 2 == 0 {
                            Party::Support
                        } else {
                            Party::Partner
                        };
                        let text = REPLIES.choose(&mut rng).copied().unwrap_or("Thanks.");
                        (party, text.to_owned())
                    })
                    .collect();
                // Most cases are closed, as in a support desk's history.
                let status = if rng.gen_bool(0.7) {
                    CaseStatus::Closed
                } else {
                    statuses[rng.gen_range(0..statuses.len() - 1)]
                };
                number += 1;
                slice.push(draft_case(
                    CaseDraft {
                        customer: customer_id,
                        reseller: *reseller_id,
                        creator: (*admin, admin_email.as_str()),
                        category: &cats[rng.gen_range(0..cats.len())],
                        title: format!("{} {symptom}", capitalised(topic)),
                        description: format!(
                            "{} {symptom}. {} {}",
                            capitalised(topic),
                            DETAILS.choose(&mut rng).copied().unwrap_or(""),
                            DETAILS.choose(&mut rng).copied().unwrap_or("")
                        ),
                        severity: severities[rng.gen_range(0..severities.len())],
                        status,
                        escalation: None,
                        created,
                        comments,
                        support_domain: None,
                    },
                    number,
                ));
            }
            legacy::insert_cases(&tx, &slice, BulkOrigin::Seed, now).await?;
            written += n;
        }
        legacy::sync_case_numbers(&tx).await?;
        tx.commit().await.map_err(PersistenceError::from)?;
        if o.progress {
            eprintln!(
                "seed: {written} of {} cases ({:.0} s)",
                o.cases,
                started.elapsed().as_secs_f64()
            );
        }
    }
    // The commits above only added to the keyword index; a server would merge it while idle,
    // but what is measured next is the index settled.
    search::merge_index_fully(db).await?;
    // Likewise PostgreSQL's running sums per partner: a row for each change, until folded.
    housekeeping::fold_seen_counts(db).await?;
    if db.backend() == casebridge_persistence::Backend::Postgres {
        // What autovacuum would do a little later: flush the keyword index's pending list into
        // the GIN tree and gather statistics, so that what is measured next is the steady
        // state. (SQLite plans without statistics, by design: see `repo::search`.)
        db.writer()
            .execute_unprepared("VACUUM (ANALYZE)")
            .await
            .map_err(PersistenceError::from)?;
    }
    Ok(SeedSummary {
        resellers: o.resellers,
        customers: o.customers,
        cases: o.cases,
        comments: o.cases * o.comments_per_case,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
