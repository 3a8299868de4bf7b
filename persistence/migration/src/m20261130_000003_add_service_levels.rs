//! Service levels (issue 19):
//!
//! - `service_level_policies`: the provider's response target per support tier and severity,
//!   holding the shipped defaults until the provider changes them (a combination without a row
//!   has no target).
//! - on `cases`: the target the case was filed under (minutes and hours), the support tier it
//!   was filed under (a severity change before the first reply recomputes from it), its due
//!   time, the time of support's first reply, when the target stopped running (support's first
//!   reply or the first close, whichever came first; never cleared, so a reopened case keeps
//!   the outcome), and whether a breach may still have to be recorded (true from filing until
//!   the target is met in time or its breach is on the timeline). Cases that existed before
//!   this migration have no target.
//!
//! Two indexes: the breach sweep reads only the cases whose breach is pending (a partial
//! index, small: met and recorded cases leave it), and the lists ordered by due time walk an
//! index on exactly the order key (cases without a target last).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServiceLevelPolicies {
    Table,
    SupportTier,
    Severity,
    FirstResponseMinutes,
    Hours,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    ServiceTier,
    FirstResponseMinutes,
    FirstResponseHours,
    FirstResponseDueTime,
    FirstRespondedTime,
    TargetStoppedTime,
    BreachPending,
}

/// The shipped defaults: (tier, severity rank, minutes, hours).
const DEFAULTS: [(&str, i16, i32, &str); 11] = [
    ("premium", 1, 15, "24x7"),
    ("premium", 2, 120, "24x7"),
    ("premium", 3, 240, "business"),
    ("premium", 4, 480, "business"),
    ("enhanced", 1, 60, "24x7"),
    ("enhanced", 2, 240, "24x7"),
    ("enhanced", 3, 480, "business"),
    ("enhanced", 4, 480, "business"),
    ("standard", 2, 240, "business"),
    ("standard", 3, 480, "business"),
    ("standard", 4, 480, "business"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ServiceLevelPolicies::Table)
                    .col(string(ServiceLevelPolicies::SupportTier))
                    .col(small_integer(ServiceLevelPolicies::Severity))
                    .col(integer(ServiceLevelPolicies::FirstResponseMinutes))
                    .col(string(ServiceLevelPolicies::Hours))
                    .primary_key(
                        Index::create()
                            .col(ServiceLevelPolicies::SupportTier)
                            .col(ServiceLevelPolicies::Severity),
                    )
                    .to_owned(),
            )
            .await?;
        let mut insert = Query::insert();
        insert.into_table(ServiceLevelPolicies::Table).columns([
            ServiceLevelPolicies::SupportTier,
            ServiceLevelPolicies::Severity,
            ServiceLevelPolicies::FirstResponseMinutes,
            ServiceLevelPolicies::Hours,
        ]);
        for (tier, severity, minutes, hours) in DEFAULTS {
            insert
                .values([tier.into(), severity.into(), minutes.into(), hours.into()])
                .map_err(|e| DbErr::Migration(format!("service level {tier} P{severity}: {e}")))?;
        }
        manager.exec_stmt(insert).await?;
        // SQLite adds one column per statement.
        let columns = [
            string_null(Cases::ServiceTier),
            integer_null(Cases::FirstResponseMinutes),
            string_null(Cases::FirstResponseHours),
            big_integer_null(Cases::FirstResponseDueTime),
            big_integer_null(Cases::FirstRespondedTime),
            big_integer_null(Cases::TargetStoppedTime),
            boolean(Cases::BreachPending).default(false).to_owned(),
        ];
        for column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Cases::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // Partial and expression indexes, in the SQL both engines share (the queries use the
        // same expressions, written alike, so both planners match them).
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_cases_breach_pending ON cases (first_response_due_time) \
             WHERE breach_pending",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_cases_first_response_order ON cases \
             (COALESCE(first_response_due_time, 9223372036854775807), id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in ["ix_cases_first_response_order", "ix_cases_breach_pending"] {
            manager
                .drop_index(Index::drop().name(index).table(Cases::Table).to_owned())
                .await?;
        }
        for column in [
            Cases::BreachPending,
            Cases::TargetStoppedTime,
            Cases::FirstRespondedTime,
            Cases::FirstResponseDueTime,
            Cases::FirstResponseHours,
            Cases::FirstResponseMinutes,
            Cases::ServiceTier,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Cases::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(ServiceLevelPolicies::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
