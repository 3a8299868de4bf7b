//! A partner's running count of the cases it sees, per status and severity (issue 17): the
//! `total_size` of its case lists without a sum over every customer it manages.
//!
//! `partner_case_counts` holds a row per partner, customer, status and severity, and a partner's
//! list summed those of the customers it currently sees: about 600 rows for a reseller at a
//! million cases, most of a first page's cost on SQLite. `partner_seen_case_counts` holds that
//! sum already made, per partner, status and severity (at most 16 rows a partner):
//!
//! `partner_seen_case_counts(D, s, v) = Σ partner_case_counts(D, C, s, v)` over the customers `C`
//! that `D` sees: its reseller with access granted, or an active support partner (the second
//! half of `casebridge_domain::visibility::can_see`; the first, being recorded on the case, is
//! what `case_access` and so `partner_case_counts` hold).
//!
//! Triggers keep the sum exact through each kind of change that moves one side:
//! - a `partner_case_counts` row changes (a case filed, moved, struck from a tenure): its change
//!   is added when its customer is seen;
//! - a customer's reseller or reseller access changes: the old reseller's counts for it leave
//!   the sum when it stops seeing the customer, the new one's enter when it starts;
//! - a support partnership starts or ends: the partner's counts for the customer enter or leave,
//!   unless the partner sees the customer as its reseller anyway.
//!
//! SQLite only. Its one writer applies changes one transaction at a time, so a row per partner,
//! status and severity costs the writer a look-up and an update. On PostgreSQL several
//! transactions write at once, and such a row would be shared by every customer of the
//! partner: a reseller's filings would queue on it from their partner rows to their commit, and
//! two changes moving a case between statuses in opposite directions (or two filings recording
//! the same two partners in opposite orders) would lock its rows in opposite orders, breaking
//! the one lock order of `persistence/src/repo/locks.rs` (every case write locks its customer
//! first, and the rows it then writes are that customer's). PostgreSQL keeps summing the
//! per-customer counts, whose rows belong to one customer each.
//! (Since `m20261203_000001_count_seen_cases_on_postgres` PostgreSQL keeps the same sum, as
//! rows it only inserts and housekeeping folds.)

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PartnerSeenCaseCounts {
    Table,
    DomainId,
    Status,
    Severity,
    N,
}

/// Whether customer `$c` has `$d` as an active support partner.
macro_rules! supported_by {
    ($d:literal, $c:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM support_partners sp WHERE sp.customer_id = ",
            $c,
            " AND sp.partner_domain_id = ",
            $d,
            ")"
        )
    };
}

/// Whether customer `$c` has `$d` as its reseller with access granted.
macro_rules! resold_by {
    ($d:literal, $c:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM customers sc WHERE sc.id = ",
            $c,
            " AND sc.reseller_domain_id = ",
            $d,
            " AND sc.reseller_access = 'granted')"
        )
    };
}

/// Whether partner `$d` sees customer `$c` by management: as its reseller with access granted,
/// or as an active support partner (the condition the lists' query applies).
macro_rules! seen {
    ($d:literal, $c:literal) => {
        concat!("(", resold_by!($d, $c), " OR ", supported_by!($d, $c), ")")
    };
}

/// Adds the counts a `SELECT domain_id, status, severity, n …` yields (a `WHERE` is required:
/// SQLite reads `ON CONFLICT` after a bare `FROM` as a join constraint).
macro_rules! add_counts {
    ($select:expr) => {
        concat!(
            "INSERT INTO partner_seen_case_counts (domain_id, status, severity, n) ",
            $select,
            " ON CONFLICT (domain_id, status, severity) \
             DO UPDATE SET n = partner_seen_case_counts.n + excluded.n"
        )
    };
}

/// A partner's counts for one customer, each signed `$sign`, when `$when` holds.
macro_rules! counts_of {
    ($sign:literal, $d:literal, $c:literal, $when:expr) => {
        concat!(
            "SELECT domain_id, status, severity, ",
            $sign,
            "n FROM partner_case_counts WHERE domain_id = ",
            $d,
            " AND customer_id = ",
            $c,
            " AND n <> 0 AND ",
            $when
        )
    };
}

/// A customer's reseller or its access changed: the old reseller's counts for the customer
/// leave the sum when it stops seeing it, the new reseller's enter when it starts (a support
/// partnership of the same domain keeps it seeing the customer either way).
macro_rules! reseller_changed {
    () => {
        concat!(
            add_counts!(counts_of!(
                "-",
                "OLD.reseller_domain_id",
                "OLD.id",
                concat!(
                    "OLD.reseller_access = 'granted' AND NOT (NEW.reseller_domain_id = \
                     OLD.reseller_domain_id AND NEW.reseller_access = 'granted') AND NOT ",
                    supported_by!("OLD.reseller_domain_id", "OLD.id")
                )
            )),
            "; ",
            add_counts!(counts_of!(
                "",
                "NEW.reseller_domain_id",
                "NEW.id",
                concat!(
                    "NEW.reseller_access = 'granted' AND NOT (OLD.reseller_domain_id = \
                     NEW.reseller_domain_id AND OLD.reseller_access = 'granted') AND NOT ",
                    supported_by!("NEW.reseller_domain_id", "NEW.id")
                )
            )),
            ";"
        )
    };
}

/// A support partnership ended (its key is the primary key: no other row keeps the pair): the
/// partner's counts for the customer leave the sum unless it resells to the customer with
/// access granted.
macro_rules! partnership_ended {
    () => {
        concat!(
            add_counts!(counts_of!(
                "-",
                "OLD.partner_domain_id",
                "OLD.customer_id",
                concat!(
                    "NOT ",
                    resold_by!("OLD.partner_domain_id", "OLD.customer_id")
                )
            )),
            ";"
        )
    };
}

/// A support partnership started: the partner's counts for the customer enter the sum unless it
/// already saw the customer as its reseller.
macro_rules! partnership_started {
    () => {
        concat!(
            add_counts!(counts_of!(
                "",
                "NEW.partner_domain_id",
                "NEW.customer_id",
                concat!(
                    "NOT ",
                    resold_by!("NEW.partner_domain_id", "NEW.customer_id")
                )
            )),
            ";"
        )
    };
}

const SQLITE_TRIGGERS: &[&str] = &[
    concat!(
        "CREATE TRIGGER partner_seen_case_counts_counted \
         AFTER INSERT ON partner_case_counts BEGIN ",
        add_counts!(concat!(
            "SELECT NEW.domain_id, NEW.status, NEW.severity, NEW.n WHERE ",
            seen!("NEW.domain_id", "NEW.customer_id")
        )),
        "; END"
    ),
    concat!(
        "CREATE TRIGGER partner_seen_case_counts_recounted \
         AFTER UPDATE OF n ON partner_case_counts \
         WHEN OLD.domain_id = NEW.domain_id AND OLD.customer_id = NEW.customer_id \
         AND OLD.status = NEW.status AND OLD.severity = NEW.severity AND OLD.n <> NEW.n BEGIN ",
        add_counts!(concat!(
            "SELECT NEW.domain_id, NEW.status, NEW.severity, NEW.n - OLD.n WHERE ",
            seen!("NEW.domain_id", "NEW.customer_id")
        )),
        "; END"
    ),
    concat!(
        "CREATE TRIGGER partner_seen_case_counts_rekeyed \
         AFTER UPDATE ON partner_case_counts \
         WHEN NOT (OLD.domain_id = NEW.domain_id AND OLD.customer_id = NEW.customer_id \
         AND OLD.status = NEW.status AND OLD.severity = NEW.severity) BEGIN ",
        add_counts!(concat!(
            "SELECT OLD.domain_id, OLD.status, OLD.severity, -OLD.n WHERE ",
            seen!("OLD.domain_id", "OLD.customer_id")
        )),
        "; ",
        add_counts!(concat!(
            "SELECT NEW.domain_id, NEW.status, NEW.severity, NEW.n WHERE ",
            seen!("NEW.domain_id", "NEW.customer_id")
        )),
        "; END"
    ),
    concat!(
        "CREATE TRIGGER partner_seen_case_counts_uncounted \
         AFTER DELETE ON partner_case_counts BEGIN ",
        add_counts!(concat!(
            "SELECT OLD.domain_id, OLD.status, OLD.severity, -OLD.n WHERE ",
            seen!("OLD.domain_id", "OLD.customer_id")
        )),
        "; END"
    ),
    concat!(
        "CREATE TRIGGER partner_seen_case_counts_reseller \
         AFTER UPDATE OF reseller_domain_id, reseller_access ON customers BEGIN ",
        reseller_changed!(),
        " END"
    ),
    concat!(
        "CREATE TRIGGER partner_seen_case_counts_partner_added \
         AFTER INSERT ON support_partners BEGIN ",
        partnership_started!(),
        " END"
    ),
    concat!(
        "CREATE TRIGGER partner_seen_case_counts_partner_removed \
         AFTER DELETE ON support_partners BEGIN ",
        partnership_ended!(),
        " END"
    ),
    concat!(
        "CREATE TRIGGER partner_seen_case_counts_partner_moved \
         AFTER UPDATE OF customer_id, partner_domain_id ON support_partners \
         WHEN OLD.customer_id <> NEW.customer_id OR OLD.partner_domain_id <> NEW.partner_domain_id \
         BEGIN ",
        partnership_ended!(),
        " ",
        partnership_started!(),
        " END"
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager
            .create_table(
                Table::create()
                    .table(PartnerSeenCaseCounts::Table)
                    .col(uuid(PartnerSeenCaseCounts::DomainId))
                    .col(string(PartnerSeenCaseCounts::Status))
                    .col(small_integer(PartnerSeenCaseCounts::Severity))
                    .col(big_integer(PartnerSeenCaseCounts::N))
                    .primary_key(
                        Index::create()
                            .col(PartnerSeenCaseCounts::DomainId)
                            .col(PartnerSeenCaseCounts::Status)
                            .col(PartnerSeenCaseCounts::Severity),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // What exists already is summed once; from here on the triggers keep the sum.
        db.execute_unprepared(concat!(
            "INSERT INTO partner_seen_case_counts (domain_id, status, severity, n) \
             SELECT pc.domain_id, pc.status, pc.severity, SUM(pc.n) \
             FROM partner_case_counts pc WHERE ",
            seen!("pc.domain_id", "pc.customer_id"),
            " GROUP BY pc.domain_id, pc.status, pc.severity"
        ))
        .await?;
        for sql in SQLITE_TRIGGERS {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        for trigger in [
            "partner_seen_case_counts_counted",
            "partner_seen_case_counts_recounted",
            "partner_seen_case_counts_rekeyed",
            "partner_seen_case_counts_uncounted",
            "partner_seen_case_counts_reseller",
            "partner_seen_case_counts_partner_added",
            "partner_seen_case_counts_partner_removed",
            "partner_seen_case_counts_partner_moved",
        ] {
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger}"))
                .await?;
        }
        manager
            .drop_table(Table::drop().table(PartnerSeenCaseCounts::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
