//! The visibility rule is decided once, in `domain::visibility::can_see`; the case lists
//! express it as a query. This test builds random worlds of resellers, customers, support
//! partnerships, transfers and cases through the repository, and checks that for every viewer
//! the query returns exactly the cases the rule lets it see, that `total_size` (summed from the
//! running counts) says how many, with and without filters and keywords (the keyword index is
//! qualified by the scopes that may see each case, and rebuilt by the upgrade in half of the
//! worlds), in every order, that reading one case agrees, and that the change feed hands out
//! the events of exactly those cases, each once, on the backend under test. The worlds also keep their own account of management tenures,
//! and the rule must agree with it: a partner sees a case only if the case was filed under
//! the partner's current tenure (customers come back to resellers and support partners).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use casebridge_persistence::repo::identity::{Standing, StandingProbe};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use casebridge_domain::EventType;
use casebridge_domain::visibility::{CaseAudience, can_see};
use casebridge_domain::{
    CaseId, CaseStatus, ClassificationId, CustomerId, DisplayName, DomainId, DomainName,
    EmailAddress, Lifecycle, ProductType, Realm, ResellerAccess, Severity, SupportTier, UserId,
    Viewer,
};
use casebridge_persistence::repo::audit::{self, AuditActor, NewEvent};
use casebridge_persistence::repo::cases::{self, CaseChanges, NewCase};
use casebridge_persistence::repo::comments::{self as case_comments, CommentRecord};
use casebridge_persistence::repo::customers::{self, ContactData, NewCustomer, PostalAddressData};
use casebridge_persistence::repo::feed::{self, FeedQuery};
use casebridge_persistence::repo::housekeeping;
use casebridge_persistence::repo::identity::{self, NewUser};
use casebridge_persistence::repo::listing::{self, CaseOrder, CaseQuery};
use casebridge_persistence::repo::search;
use casebridge_tests::{BOUNCED, FreshDatabase};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::{Duration, OffsetDateTime};

struct Tenant {
    domain: DomainId,
    user: UserId,
    email: String,
}

async fn tenant(
    db: &casebridge_persistence::Database,
    name: &str,
    realm: Realm,
    now: OffsetDateTime,
) -> Tenant {
    let domain = identity::insert_domain(
        db.writer(),
        DomainId::generate(),
        &DomainName::parse(name).unwrap(),
        realm,
        now,
    )
    .await
    .unwrap();
    let email = format!("agent@{name}");
    let user = identity::insert_user(
        db.writer(),
        &NewUser {
            id: UserId::generate(),
            domain_id: domain.id,
            email: EmailAddress::parse(&email).unwrap(),
            display_name: DisplayName::parse("Agent").unwrap(),
            password_hash: "$argon2id$unused".to_owned(),
            must_change_password: false,
            org_unit: None,
            notification_email: None,
        },
        now,
    )
    .await
    .unwrap();
    Tenant {
        domain: domain.id,
        user: user.id,
        email,
    }
}

async fn visible_by_rule(
    db: &casebridge_persistence::Database,
    viewer: Viewer,
    all: &[CaseId],
) -> BTreeSet<CaseId> {
    let mut out = BTreeSet::new();
    for id in all {
        let case = cases::find_case(db.reader(), *id).await.unwrap().unwrap();
        let customer = customers::find_customer(db.reader(), case.customer_id)
            .await
            .unwrap()
            .unwrap();
        let management = customers::management(db.reader(), &customer).await.unwrap();
        let recorded = cases::recorded_partners(db.reader(), *id).await.unwrap();
        let audience = CaseAudience {
            recorded_partners: &recorded,
            customer_domain: customer.domain_id,
            management: &management,
        };
        if can_see(viewer, &audience) {
            out.insert(*id);
        }
    }
    out
}

/// A customer of `reseller` in its own domain, as the worlds create them.
fn new_customer(name: String, domain: DomainId, reseller: DomainId, email: String) -> NewCustomer {
    NewCustomer {
        name,
        domain_id: domain,
        reseller_domain_id: reseller,
        support_tier: SupportTier::Standard,
        postal_address: PostalAddressData {
            lines: vec!["1 Street".into()],
            locality: "Town".into(),
            region: None,
            postal_code: None,
            country_code: "DE".into(),
        },
        contact: ContactData {
            name: "Contact".into(),
            email,
            phone: None,
        },
    }
}

/// Every case the list query returns, page by page, with each page's `total_size`.
async fn visible_by_query(
    db: &casebridge_persistence::Database,
    viewer: Viewer,
    filter: &Filter,
) -> (BTreeSet<CaseId>, BTreeSet<u64>) {
    let mut out = BTreeSet::new();
    let mut totals = BTreeSet::new();
    let mut after = None;
    loop {
        let query = CaseQuery {
            viewer,
            customer: filter.customer,
            q: filter.q.map(str::to_owned),
            statuses: filter.statuses.clone(),
            severities: filter.severities.clone(),
            updated_after: None,
            service_level: None,
            now: time::OffsetDateTime::now_utc(),
            order: filter.order,
            after,
            limit: 7,
        };
        let (page, total) = listing::list_cases(db.reader(), &query).await.unwrap();
        // The same query on the request-thread read path (SQLite files; sea-orm elsewhere)
        // answers the same page.
        let same = listing::list_cases(&db.reads(), &query).await.unwrap();
        assert_eq!(
            same,
            (page.clone(), total),
            "{viewer:?} {filter:?}: the read paths differ"
        );
        // And carrying a token's standing (PostgreSQL's My cases) changes nothing of it. The
        // page carries it when it has a row and is not a keyword search (which reads apart).
        let probe = StandingProbe {
            user: casebridge_domain::UserId::generate(),
            jti: uuid::Uuid::now_v7(),
        };
        let (carried, carried_total, standing) =
            listing::list_cases_carrying(&db.reads(), &query, Some(probe))
                .await
                .unwrap();
        assert_eq!(
            (carried, carried_total),
            (page.clone(), total),
            "{viewer:?} {filter:?}: the carrying read differs"
        );
        // No such user: read as gone on PostgreSQL.
        let carries = db.backend() == casebridge_persistence::Backend::Postgres
            && filter.q.is_none()
            && !page.is_empty();
        assert_eq!(
            standing,
            if carries {
                Standing::Read(None)
            } else {
                Standing::NotRead
            },
            "{viewer:?} {filter:?}"
        );
        // An update-time bound that every case meets counts the matching cases themselves
        // (not the running counts): the same page and total, on both paths.
        let bounded = CaseQuery {
            updated_after: Some(OffsetDateTime::UNIX_EPOCH),
            ..query.clone()
        };
        for counted in [
            listing::list_cases(db.reader(), &bounded).await.unwrap(),
            listing::list_cases(&db.reads(), &bounded).await.unwrap(),
        ] {
            assert_eq!(
                counted,
                (page.clone(), total),
                "{viewer:?} {filter:?}, counted"
            );
        }
        totals.insert(total);
        let Some(last) = page.last() else { break };
        after = Some(listing::CaseCursor::after(last, filter.order));
        let n = page.len();
        for case in page {
            assert!(out.insert(case.id), "{viewer:?} listed {} twice", case.id);
        }
        if n < 7 {
            break;
        }
    }
    (out, totals)
}

/// Records a case event, as the case operations do in their transactions.
async fn record_case_event(
    db: &casebridge_persistence::Database,
    case: CaseId,
    customer: CustomerId,
    action: &'static str,
    now: OffsetDateTime,
) {
    audit::record(
        db.writer(),
        &AuditActor::default(),
        NewEvent {
            action,
            subject_type: "case",
            subject_id: case.to_string(),
            customer_id: Some(customer),
            case_id: Some(case),
            details: serde_json::json!({}),
            audience: Vec::new(),
        },
        now,
    )
    .await
    .unwrap();
}

/// How many events of each case the change feed hands the viewer, following it page by page
/// as a client follows `next_cursor`; each event once, in increasing positions. Followed until
/// the feed is final past the newest event written (on PostgreSQL a transaction anywhere on
/// the server, another test's, may hold it back for a moment).
async fn events_by_feed(
    db: &casebridge_persistence::Database,
    viewer: Viewer,
) -> BTreeMap<CaseId, usize> {
    use casebridge_persistence::entities::audit_events;
    use sea_orm::{EntityTrait, QueryOrder};
    let newest = audit_events::Entity::find()
        .order_by_desc(audit_events::Column::PositionTx)
        .order_by_desc(audit_events::Column::PositionSeq)
        .one(db.reader())
        .await
        .unwrap()
        .map(|e| feed::FeedPosition {
            tx: e.position_tx,
            seq: e.position_seq,
        });
    let mut out = BTreeMap::new();
    let mut ids = HashSet::new();
    let mut after = None;
    for _ in 0..4000 {
        let read = feed::read_feed(
            db.reader(),
            &FeedQuery {
                viewer,
                types: EventType::ALL.to_vec(),
                customer: None,
                after,
                limit: 7,
            },
        )
        .await
        .unwrap();
        let n = read.events.len();
        for e in read.events {
            assert!(
                ids.insert(e.event.id),
                "{viewer:?} received {} twice",
                e.event.id
            );
            assert!(after < Some(e.position), "{viewer:?}: out of order");
            after = Some(e.position);
            if let Some(case) = e.case_id {
                *out.entry(case).or_default() += 1;
            }
        }
        if n < 7 {
            if Some(read.horizon) >= newest {
                return out;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    panic!("{viewer:?}: the feed never became final past the newest event");
}

/// Filters of a list.
#[derive(Debug, Default)]
struct Filter {
    customer: Option<CustomerId>,
    statuses: Vec<CaseStatus>,
    severities: Vec<Severity>,
    /// A keyword (a word of the title, or its beginning).
    q: Option<&'static str>,
    /// The order pages are walked in.
    order: CaseOrder,
}

impl Filter {
    /// Whether the filter admits the case, whose comments are `comments`: each keyword term
    /// begins a word of its title, its description or a comment.
    async fn admits(
        &self,
        db: &casebridge_persistence::Database,
        id: CaseId,
        comments: &[&str],
    ) -> bool {
        let case = cases::find_case(db.reader(), id).await.unwrap().unwrap();
        let words: Vec<String> = [case.title.as_str(), case.description.as_str()]
            .into_iter()
            .chain(comments.iter().copied())
            .flat_map(|t| t.split(|c: char| !c.is_alphanumeric()))
            .map(str::to_lowercase)
            .collect();
        self.customer.is_none_or(|c| c == case.customer_id)
            && (self.statuses.is_empty() || self.statuses.contains(&case.lifecycle.status))
            && (self.severities.is_empty() || self.severities.contains(&case.severity))
            && self.q.is_none_or(|q| {
                search::search_terms(q)
                    .iter()
                    .all(|t| words.iter().any(|w| w.starts_with(t.as_str())))
            })
    }
}

/// The worlds' own account of management tenures, kept apart from the repository.
#[derive(Default)]
struct Tenures {
    last: u64,
    /// The current tenure of each (customer, partner).
    current: HashMap<(CustomerId, DomainId), u64>,
    /// Each case's customer and the (partner, tenure) pairs it was filed under.
    filed: HashMap<CaseId, (CustomerId, Vec<(DomainId, u64)>)>,
}

impl Tenures {
    /// A partner starts managing the customer; whether it had managed it before and cases
    /// were filed under that earlier tenure.
    fn start(&mut self, customer: CustomerId, partner: DomainId) -> bool {
        self.last += 1;
        self.current.insert((customer, partner), self.last);
        self.filed
            .values()
            .any(|(c, under)| *c == customer && under.iter().any(|(p, _)| *p == partner))
    }

    fn end(&mut self, customer: CustomerId, partner: DomainId) {
        self.current.remove(&(customer, partner));
    }

    fn file(&mut self, case: CaseId, customer: CustomerId, partners: &[DomainId]) {
        let under = partners
            .iter()
            .map(|p| (*p, self.current[&(customer, *p)]))
            .collect();
        self.filed.insert(case, (customer, under));
    }

    fn filed_under_current(&self, case: CaseId, partner: DomainId) -> bool {
        let (customer, under) = &self.filed[&case];
        let current = self.current.get(&(*customer, partner));
        under
            .iter()
            .any(|(p, t)| *p == partner && Some(t) == current)
    }
}

/// Case titles: keyword filters must find exactly the visible cases with the word.
const TITLES: [&str; 3] = ["mail bounce", "calendar sync", "drive quota"];

/// Comments: keyword filters must find the words of a case's comments too (the index entry is
/// written again with each comment), accented ones included.
const COMMENTS: [&str; 3] = [
    "Printer jam on floor 2",
    "Crème brûlée: the café's menu",
    "calendar invites bounce",
];

#[tokio::test]
async fn the_case_list_query_sees_exactly_what_the_visibility_rule_sees() {
    // How often a partner saw cases, and how often a case recorded for a partner was hidden
    // from it: both must happen, or the worlds test nothing.
    let (mut seen_by_partners, mut hidden_from_recorded) = (0usize, 0usize);
    // How often a partner came back to a customer it had managed and whose earlier cases
    // it recorded: the case the tenure rule is about.
    let mut returns_with_earlier_cases = 0usize;
    // How often a partner's or customer's search found a case by a word of its comments only.
    let mut found_by_comments = 0usize;
    for seed in 0..6u64 {
        // The test's own account of tenures: the current one of each (customer, partner),
        // and the (partner, tenure) pairs each case was filed under.
        let mut tenures = Tenures::default();
        let fresh = FreshDatabase::new().await;
        let db = &fresh.db;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut now = OffsetDateTime::now_utc();
        let mut resellers = Vec::new();
        for i in 0..4 {
            resellers.push(tenant(db, &format!("r{i}.example"), Realm::Reseller, now).await);
        }
        let mut customer_tenants = Vec::new();
        let mut customer_ids = Vec::new();
        for i in 0..3 {
            let t = tenant(db, &format!("c{i}.example"), Realm::Customer, now).await;
            let reseller = resellers[rng.gen_range(0..resellers.len())].domain;
            let id = customers::insert_customer(
                db.writer(),
                &new_customer(
                    format!("Customer {i}"),
                    t.domain,
                    reseller,
                    format!("it@c{i}.example"),
                ),
                now,
            )
            .await
            .unwrap();
            customer_tenants.push(t);
            customer_ids.push(id);
            tenures.start(id, reseller);
        }
        let mut all_cases = Vec::new();
        let mut comments_of: HashMap<CaseId, Vec<&'static str>> = HashMap::new();
        // How many events each case's timeline holds.
        let mut events_of: HashMap<CaseId, usize> = HashMap::new();
        for _ in 0..40 {
            now += Duration::seconds(1);
            let c = customer_ids[rng.gen_range(0..customer_ids.len())];
            let customer = customers::find_customer(db.reader(), c)
                .await
                .unwrap()
                .unwrap();
            let management = customers::management(db.reader(), &customer).await.unwrap();
            match rng.gen_range(0..14) {
                // Someone comments on a case.
                12 | 13 if !all_cases.is_empty() => {
                    let id = all_cases[rng.gen_range(0..all_cases.len())];
                    let body = COMMENTS[rng.gen_range(0..COMMENTS.len())];
                    case_comments::insert_comment(
                        db.writer(),
                        &CommentRecord {
                            id: casebridge_domain::CommentId::generate(),
                            case_id: id,
                            body: body.to_owned(),
                            author_user_id: None,
                            author_email: "support@provider.example".to_owned(),
                            author_domain_id: None,
                            author_party: casebridge_domain::Party::Support,
                            create_time: now,
                        },
                    )
                    .await
                    .unwrap();
                    comments_of.entry(id).or_default().push(body);
                    let customer = cases::find_case(db.reader(), id)
                        .await
                        .unwrap()
                        .unwrap()
                        .customer_id;
                    record_case_event(db, id, customer, "case.commented", now).await;
                    *events_of.entry(id).or_default() += 1;
                }
                // Support moves a case on, or its severity changes.
                10 | 11 if !all_cases.is_empty() => {
                    let id = all_cases[rng.gen_range(0..all_cases.len())];
                    let case = cases::find_case(db.reader(), id).await.unwrap().unwrap();
                    let status = CaseStatus::ALL[rng.gen_range(0..CaseStatus::ALL.len())];
                    let severity = [Severity::P1, Severity::P2, Severity::P3, Severity::P4]
                        [rng.gen_range(0..4)];
                    let lifecycle = Lifecycle {
                        status,
                        close_time: (status == CaseStatus::Closed).then_some(now),
                        escalation: None,
                    };
                    cases::update_case(
                        db.writer(),
                        id,
                        case.version,
                        &CaseChanges {
                            severity: Some(severity),
                            title: None,
                            subscriber_emails: None,
                            lifecycle: Some(lifecycle),
                            ..CaseChanges::default()
                        },
                        now,
                    )
                    .await
                    .unwrap();
                    record_case_event(db, id, case.customer_id, "case.status_changed", now).await;
                    *events_of.entry(id).or_default() += 1;
                }
                // File a case as one of the managing partners.
                0..=4 => {
                    let partners = management.partner_domains();
                    let filer = partners[rng.gen_range(0..partners.len())];
                    let who = resellers.iter().find(|r| r.domain == filer).unwrap();
                    let filed = cases::insert_case(
                        db.writer(),
                        &NewCase {
                            customer_id: c,
                            customer_domain_id: customer.domain_id,
                            product_type: ProductType::GoogleWorkspace,
                            title: TITLES[rng.gen_range(0..TITLES.len())].into(),
                            classification_id: BOUNCED.parse::<ClassificationId>().unwrap(),
                            description: "d".into(),
                            answers: Default::default(),
                            severity: Severity::P3,
                            language_code: "en".into(),
                            time_zone: "UTC".into(),
                            subscriber_emails: vec![],
                            creator_user_id: who.user,
                            creator_email: who.email.clone(),
                            creator_domain_id: who.domain,
                            reseller_domain_id: management.reseller,
                            partner_domains: partners,
                            follow_up_of: None,
                            service_tier: casebridge_domain::SupportTier::Standard,
                            target: None,
                        },
                        now,
                    )
                    .await
                    .unwrap();
                    // The case the INSERT returns is the case a read finds.
                    let id = filed.id;
                    assert_eq!(
                        cases::find_case(db.writer(), id).await.unwrap(),
                        Some(filed)
                    );
                    all_cases.push(id);
                    tenures.file(id, c, &management.partner_domains());
                    record_case_event(db, id, c, "case.created", now).await;
                    *events_of.entry(id).or_default() += 1;
                }
                // Grant or revoke the reseller's access.
                5 => {
                    let access = if rng.gen_bool(0.5) {
                        ResellerAccess::Granted
                    } else {
                        ResellerAccess::Revoked
                    };
                    customers::set_reseller_access(db.writer(), c, access, now)
                        .await
                        .unwrap();
                }
                // Take on a support partner.
                6 | 7 => {
                    let p = resellers[rng.gen_range(0..resellers.len())].domain;
                    if management.check_add_support_partner(p).is_ok() {
                        customers::add_support_partner(db.writer(), c, p, now)
                            .await
                            .unwrap();
                        if tenures.start(c, p) {
                            returns_with_earlier_cases += 1;
                        }
                    }
                }
                // End a support partnership.
                8 => {
                    if let Some(p) = management.support_partners.first() {
                        customers::remove_support_partner(db.writer(), c, *p)
                            .await
                            .unwrap();
                        tenures.end(c, *p);
                    }
                }
                // Transfer to another reseller.
                9 => {
                    let to = resellers[rng.gen_range(0..resellers.len())].domain;
                    if let Ok(after) = management.transfer_to(to) {
                        customers::apply_transfer(db.writer(), c, &management, &after, now)
                            .await
                            .unwrap();
                        // The old reseller's tenure ends; so does a support partner's that
                        // becomes the reseller, whose reseller tenure starts.
                        tenures.end(c, management.reseller);
                        tenures.end(c, to);
                        if tenures.start(c, to) {
                            returns_with_earlier_cases += 1;
                        }
                    }
                }
                // A status change with no case yet: nothing happens.
                _ => {}
            }
        }
        let mut viewers: Vec<Viewer> = resellers
            .iter()
            .map(|r| Viewer::Partner(r.domain))
            .collect();
        viewers.extend(customer_tenants.iter().map(|t| Viewer::Customer(t.domain)));
        viewers.push(Viewer::Provider);
        let filters = [
            Filter::default(),
            Filter {
                statuses: vec![CaseStatus::New, CaseStatus::Closed],
                ..Filter::default()
            },
            Filter {
                severities: vec![Severity::P1, Severity::P3],
                ..Filter::default()
            },
            Filter {
                customer: Some(customer_ids[0]),
                statuses: vec![CaseStatus::New],
                severities: vec![Severity::P3],
                ..Filter::default()
            },
            Filter {
                q: Some("calendar"),
                ..Filter::default()
            },
            Filter {
                q: Some("sy"),
                statuses: vec![CaseStatus::New, CaseStatus::InProgressSupport],
                order: CaseOrder::Severity,
                ..Filter::default()
            },
            Filter {
                q: Some("mail"),
                order: CaseOrder::CreateTimeDesc,
                ..Filter::default()
            },
            Filter {
                severities: vec![Severity::P1, Severity::P3],
                order: CaseOrder::Severity,
                ..Filter::default()
            },
            // Several terms, from the title and the comments.
            Filter {
                q: Some("Calendar SY"),
                ..Filter::default()
            },
            Filter {
                q: Some("jam mail"),
                order: CaseOrder::CreateTimeDesc,
                ..Filter::default()
            },
            Filter {
                q: Some("brûl café"),
                ..Filter::default()
            },
            Filter {
                q: Some("bounce"),
                statuses: vec![CaseStatus::New],
                ..Filter::default()
            },
        ];
        if seed % 2 == 1 {
            // Half of the worlds are searched in the index as the upgrade rebuilt it: its
            // last migration (qualifying the words by scope) undone and applied again.
            use casebridge_migration::{Migrator, MigratorTrait};
            let migrations = Migrator::migrations();
            let at = migrations
                .iter()
                .position(|m| m.name() == "m20261130_000004_qualify_keyword_index")
                .unwrap();
            let steps = u32::try_from(migrations.len() - at).unwrap();
            Migrator::down(db.writer(), Some(steps)).await.unwrap();
            Migrator::up(db.writer(), None).await.unwrap();
        }
        for viewer in viewers {
            let rule = visible_by_rule(db, viewer, &all_cases).await;
            // The change feed hands out every event of exactly these cases, each once.
            let by_feed = events_by_feed(db, viewer).await;
            assert_eq!(
                by_feed.keys().copied().collect::<BTreeSet<_>>(),
                rule,
                "seed {seed}, viewer {viewer:?}: the feed"
            );
            for (case, n) in &by_feed {
                assert_eq!(
                    events_of[case], *n,
                    "seed {seed}, viewer {viewer:?}, case {case}"
                );
            }
            if let Viewer::Partner(d) = viewer {
                // The rule agrees with the worlds' own account of tenures.
                let mut by_tenure = BTreeSet::new();
                for id in &all_cases {
                    let case = cases::find_case(db.reader(), *id).await.unwrap().unwrap();
                    let customer = customers::find_customer(db.reader(), case.customer_id)
                        .await
                        .unwrap()
                        .unwrap();
                    let management = customers::management(db.reader(), &customer).await.unwrap();
                    if tenures.filed_under_current(*id, d) && management.may_act(d) {
                        by_tenure.insert(*id);
                    }
                }
                assert_eq!(rule, by_tenure, "seed {seed}, viewer {viewer:?}: tenures");
            }
            for filter in &filters {
                let mut expected = BTreeSet::new();
                for id in &rule {
                    let comments = comments_of.get(id).map_or(&[][..], Vec::as_slice);
                    if filter.admits(db, *id, comments).await {
                        expected.insert(*id);
                    }
                }
                if filter.q == Some("brûl café") && viewer != Viewer::Provider {
                    found_by_comments += expected.len();
                }
                let (listed, totals) = visible_by_query(db, viewer, filter).await;
                assert_eq!(
                    listed, expected,
                    "seed {seed}, viewer {viewer:?}, {filter:?}"
                );
                assert_eq!(
                    totals,
                    BTreeSet::from([expected.len() as u64]),
                    "seed {seed}, viewer {viewer:?}, {filter:?}"
                );
            }
            // Reading one case answers the same, one query each.
            for id in &all_cases {
                let read = cases::find_visible_case(db.reader(), *id, viewer)
                    .await
                    .unwrap();
                let same = cases::find_visible_case(&db.reads(), *id, viewer)
                    .await
                    .unwrap();
                assert_eq!(
                    read, same,
                    "seed {seed}, {viewer:?}, case {id}: the read paths differ"
                );
                // And carrying a token's standing (PostgreSQL's GET) changes nothing of it.
                let probe = StandingProbe {
                    user: casebridge_domain::UserId::generate(),
                    jti: uuid::Uuid::now_v7(),
                };
                let (carried, standing) =
                    cases::find_visible_case_carrying(&db.reads(), *id, viewer, Some(probe))
                        .await
                        .unwrap();
                // No such user: read as gone on PostgreSQL; SQLite carries nothing.
                let expected = match db.backend() {
                    casebridge_persistence::Backend::Postgres => Standing::Read(None),
                    casebridge_persistence::Backend::Sqlite => Standing::NotRead,
                };
                assert_eq!(standing, expected);
                assert_eq!(
                    read, carried,
                    "seed {seed}, {viewer:?}, case {id}: the carrying read differs"
                );
                assert_eq!(
                    read.map(|c| c.id),
                    rule.contains(id).then_some(*id),
                    "seed {seed}, viewer {viewer:?}, case {id}"
                );
            }
            // No such case: no row to carry the standing, which the caller then reads itself.
            let probe = StandingProbe {
                user: casebridge_domain::UserId::generate(),
                jti: uuid::Uuid::now_v7(),
            };
            let missing = CaseId::generate();
            assert_eq!(
                cases::find_visible_case_carrying(&db.reads(), missing, viewer, Some(probe))
                    .await
                    .unwrap(),
                (None, Standing::NotRead),
                "seed {seed}, {viewer:?}"
            );
            if let Viewer::Partner(d) = viewer {
                seen_by_partners += rule.len();
                for id in &all_cases {
                    let recorded = cases::recorded_partners(db.reader(), *id).await.unwrap();
                    if recorded.contains(&d) && !rule.contains(id) {
                        hidden_from_recorded += 1;
                    }
                }
            }
        }
    }
    assert!(
        seen_by_partners > 0 && hidden_from_recorded > 0,
        "{seen_by_partners} {hidden_from_recorded}"
    );
    assert!(
        found_by_comments > 0,
        "no search found a case by its comments"
    );
    assert!(
        returns_with_earlier_cases > 0,
        "no partner came back to a customer whose cases it had recorded"
    );
}

/// Files a case for the customer as `who`, recording `partners`.
async fn file_case(
    db: &casebridge_persistence::Database,
    customer: CustomerId,
    customer_domain: DomainId,
    who: &Tenant,
    partners: Vec<DomainId>,
    reseller: DomainId,
    now: OffsetDateTime,
) -> CaseId {
    cases::insert_case(
        db.writer(),
        &NewCase {
            customer_id: customer,
            customer_domain_id: customer_domain,
            product_type: ProductType::GoogleWorkspace,
            title: "mail bounce".into(),
            classification_id: BOUNCED.parse::<ClassificationId>().unwrap(),
            description: "d".into(),
            answers: Default::default(),
            severity: Severity::P3,
            language_code: "en".into(),
            time_zone: "UTC".into(),
            subscriber_emails: vec![],
            creator_user_id: who.user,
            creator_email: who.email.clone(),
            creator_domain_id: who.domain,
            reseller_domain_id: reseller,
            partner_domains: partners,
            follow_up_of: None,
            service_tier: casebridge_domain::SupportTier::Standard,
            target: None,
        },
        now,
    )
    .await
    .unwrap()
    .id
}

#[tokio::test]
async fn the_upgrade_strikes_the_records_of_tenures_that_ended_before_it() {
    use casebridge_migration::{Migrator, MigratorTrait};
    let fresh = FreshDatabase::new().await;
    let db = &fresh.db;
    let mut now = OffsetDateTime::now_utc();
    let a = tenant(db, "a.example", Realm::Reseller, now).await;
    let b = tenant(db, "b.example", Realm::Reseller, now).await;
    let partner = tenant(db, "p.example", Realm::Reseller, now).await;
    let customer_tenant = tenant(db, "c.example", Realm::Customer, now).await;
    let c = customers::insert_customer(
        db.writer(),
        &new_customer(
            "Customer".into(),
            customer_tenant.domain,
            a.domain,
            "it@c.example".into(),
        ),
        now,
    )
    .await
    .unwrap();
    customers::set_reseller_access(db.writer(), c, ResellerAccess::Granted, now)
        .await
        .unwrap();
    customers::add_support_partner(db.writer(), c, partner.domain, now)
        .await
        .unwrap();
    let partners = |r: &Tenant| vec![r.domain, partner.domain];
    now += Duration::seconds(1);
    let first = file_case(
        db,
        c,
        customer_tenant.domain,
        &a,
        partners(&a),
        a.domain,
        now,
    )
    .await;
    // Before the upgrade a transfer struck no record: the same management before and after.
    let move_to = async |to: DomainId, now: OffsetDateTime| {
        let customer = customers::find_customer(db.reader(), c)
            .await
            .unwrap()
            .unwrap();
        let management = customers::management(db.reader(), &customer).await.unwrap();
        let after = management.transfer_to(to).unwrap();
        customers::apply_transfer(db.writer(), c, &after, &after, now)
            .await
            .unwrap();
        customers::set_reseller_access(db.writer(), c, ResellerAccess::Granted, now)
            .await
            .unwrap();
    };
    now += Duration::seconds(1);
    move_to(b.domain, now).await;
    now += Duration::seconds(1);
    let away = file_case(
        db,
        c,
        customer_tenant.domain,
        &b,
        partners(&b),
        b.domain,
        now,
    )
    .await;
    now += Duration::seconds(1);
    move_to(a.domain, now).await;
    now += Duration::seconds(1);
    let back = file_case(
        db,
        c,
        customer_tenant.domain,
        &a,
        partners(&a),
        a.domain,
        now,
    )
    .await;
    let sees = async |viewer: Viewer, id: CaseId| {
        cases::find_visible_case(db.reader(), id, viewer)
            .await
            .unwrap()
            .is_some()
    };
    assert!(sees(Viewer::Partner(a.domain), first).await, "the defect");
    // Apply this migration, and any after it, again.
    let migrations = Migrator::migrations();
    let at = migrations
        .iter()
        .position(|m| m.name() == "m20261130_000001_strike_ended_tenures")
        .unwrap();
    let steps = u32::try_from(migrations.len() - at).unwrap();
    Migrator::down(db.writer(), Some(steps)).await.unwrap();
    Migrator::up(db.writer(), None).await.unwrap();
    assert!(!sees(Viewer::Partner(a.domain), first).await);
    assert!(!sees(Viewer::Partner(a.domain), away).await);
    assert!(sees(Viewer::Partner(a.domain), back).await);
    assert!(!sees(Viewer::Partner(b.domain), away).await);
    // The support partner's tenure never ended: it keeps every case.
    for id in [first, away, back] {
        assert!(sees(Viewer::Partner(partner.domain), id).await);
    }
    // And the running counts followed the struck records.
    let (listed, total) = listing::list_cases(
        db.reader(),
        &CaseQuery {
            viewer: Viewer::Partner(a.domain),
            customer: None,
            q: None,
            statuses: vec![],
            severities: vec![],
            updated_after: None,
            service_level: None,
            now: time::OffsetDateTime::now_utc(),
            order: CaseOrder::default(),
            after: None,
            limit: 10,
        },
    )
    .await
    .unwrap();
    assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), vec![back]);
    assert_eq!(total, 1);
}

/// How far `partner_seen_case_counts` is from the sum it keeps, recomputed from scratch: the
/// number of (partner, status, severity) rows on which the two disagree (0 when exact).
async fn seen_counts_off_by(db: &casebridge_persistence::Database) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    const SUMMED: &str = "SELECT pc.domain_id, pc.status, pc.severity, SUM(pc.n) AS n \
        FROM partner_case_counts pc \
        WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = pc.customer_id \
                AND c.reseller_domain_id = pc.domain_id AND c.reseller_access = 'granted') \
           OR EXISTS (SELECT 1 FROM support_partners p WHERE p.customer_id = pc.customer_id \
                AND p.partner_domain_id = pc.domain_id) \
        GROUP BY pc.domain_id, pc.status, pc.severity HAVING SUM(pc.n) <> 0";
    // SQLite keeps a row per key; PostgreSQL rows it only adds, summed here as its lists sum them.
    const KEPT: &str = "SELECT domain_id, status, severity, SUM(n) AS n \
        FROM partner_seen_case_counts GROUP BY domain_id, status, severity HAVING SUM(n) <> 0";
    let sql = format!(
        "SELECT CAST((SELECT COUNT(*) FROM ({SUMMED} EXCEPT {KEPT}) AS missing) \
         + (SELECT COUNT(*) FROM ({KEPT} EXCEPT {SUMMED}) AS extra) AS BIGINT) AS off"
    );
    let backend = db.writer().get_database_backend();
    let row = db
        .writer()
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "off").unwrap()
}

/// A partner's kept count of the cases it sees, all statuses and severities.
async fn seen_count(db: &casebridge_persistence::Database, partner: DomainId) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = db.writer().get_database_backend();
    let sql = numbered(
        backend,
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM partner_seen_case_counts \
         WHERE domain_id = ?",
    );
    let row = db
        .writer()
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [partner.as_uuid().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// `sql` with its `?` placeholders numbered (`$1`, `$2`, …) on PostgreSQL.
fn numbered(backend: sea_orm::DbBackend, sql: &str) -> String {
    if backend != sea_orm::DbBackend::Postgres {
        return sql.to_owned();
    }
    let mut n = 0;
    sql.chars()
        .map(|c| match c {
            '?' => {
                n += 1;
                format!("${n}")
            }
            c => c.to_string(),
        })
        .collect()
}

/// The running sum of the cases a partner sees follows every change of either side, including
/// changes the API never makes (a reseller made support partner of its own customer, a
/// partnership whose key is rewritten, a count edited in place): the triggers keep it whatever
/// writes the tables. On PostgreSQL, where the sum is rows only ever added, it is checked
/// before and after housekeeping folds them, and a fold leaves one row per key.
#[tokio::test]
async fn a_partners_seen_count_follows_every_change_of_either_side() {
    use sea_orm::{ConnectionTrait, Statement};
    let fresh = FreshDatabase::new().await;
    let db = &fresh.db;
    let backend = db.writer().get_database_backend();
    let run = async |sql: &str, values: Vec<sea_orm::Value>| {
        db.writer()
            .execute_raw(Statement::from_sql_and_values(
                backend,
                numbered(backend, sql),
                values,
            ))
            .await
            .unwrap();
    };
    let now = OffsetDateTime::now_utc();
    let a = tenant(db, "a.example", Realm::Reseller, now).await;
    let b = tenant(db, "b.example", Realm::Reseller, now).await;
    let customer_tenant = tenant(db, "c.example", Realm::Customer, now).await;
    let c = customers::insert_customer(
        db.writer(),
        &new_customer(
            "Customer".into(),
            customer_tenant.domain,
            a.domain,
            "it@c.example".into(),
        ),
        now,
    )
    .await
    .unwrap();
    customers::set_reseller_access(db.writer(), c, ResellerAccess::Granted, now)
        .await
        .unwrap();
    // Two cases recorded for both resellers; only `a` manages the customer.
    for _ in 0..2 {
        file_case(
            db,
            c,
            customer_tenant.domain,
            &a,
            vec![a.domain, b.domain],
            a.domain,
            now,
        )
        .await;
    }
    let check = async |a_sees: i64, b_sees: i64, step: &str| {
        assert_eq!(seen_counts_off_by(db).await, 0, "{step}");
        assert_eq!(seen_count(db, a.domain).await, a_sees, "{step}: a");
        assert_eq!(seen_count(db, b.domain).await, b_sees, "{step}: b");
        if backend == sea_orm::DbBackend::Postgres {
            housekeeping::fold_seen_counts(db).await.unwrap().unwrap();
            assert_eq!(seen_counts_off_by(db).await, 0, "{step}, folded");
            assert_eq!(seen_count(db, a.domain).await, a_sees, "{step}, folded: a");
            assert_eq!(seen_count(db, b.domain).await, b_sees, "{step}, folded: b");
            let row = db
                .writer()
                .query_one_raw(Statement::from_string(
                    backend,
                    "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT 1 \
                     FROM partner_seen_case_counts \
                     GROUP BY domain_id, status, severity HAVING COUNT(*) > 1) AS several",
                ))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                row.try_get::<i64>("", "n").unwrap(),
                0,
                "{step}: one row a key"
            );
        }
    };
    check(2, 0, "filed").await;
    let (ca, cc) = (a.domain.as_uuid(), c.as_uuid());
    let (cb, at) = (b.domain.as_uuid(), now.unix_timestamp() * 1_000_000);
    customers::set_reseller_access(db.writer(), c, ResellerAccess::Revoked, now)
        .await
        .unwrap();
    check(0, 0, "access revoked").await;
    run(
        "INSERT INTO support_partners (customer_id, partner_domain_id, start_time) VALUES (?, ?, ?)",
        vec![cc.into(), ca.into(), at.into()],
    )
    .await;
    check(2, 0, "the reseller made a support partner").await;
    customers::set_reseller_access(db.writer(), c, ResellerAccess::Granted, now)
        .await
        .unwrap();
    check(2, 0, "access granted beside the partnership").await;
    run(
        "UPDATE support_partners SET partner_domain_id = ? WHERE customer_id = ? AND partner_domain_id = ?",
        vec![cb.into(), cc.into(), ca.into()],
    )
    .await;
    check(2, 2, "the partnership rewritten to b").await;
    run(
        "UPDATE partner_case_counts SET n = n + 3 WHERE domain_id = ? AND customer_id = ?",
        vec![cb.into(), cc.into()],
    )
    .await;
    check(2, 5, "b's count edited").await;
    run(
        "UPDATE customers SET reseller_domain_id = ? WHERE id = ?",
        vec![cb.into(), cc.into()],
    )
    .await;
    check(0, 5, "the customer moved to b, still its support partner").await;
    run(
        "DELETE FROM support_partners WHERE customer_id = ?",
        vec![cc.into()],
    )
    .await;
    check(0, 5, "b's partnership ended, b resells with access granted").await;
    run(
        "UPDATE customers SET reseller_domain_id = ? WHERE id = ?",
        vec![ca.into(), cc.into()],
    )
    .await;
    check(2, 0, "the customer moved back to a").await;
    run(
        "DELETE FROM partner_case_counts WHERE domain_id = ?",
        vec![ca.into()],
    )
    .await;
    check(0, 0, "a's counts deleted").await;
}
