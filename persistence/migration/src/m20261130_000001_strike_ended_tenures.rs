//! A partner is recorded on a case for the tenure it was filed under; once that tenure ends
//! the record goes (`visibility::ended_tenures`), so a reseller the customer returns to does
//! not see its earlier tenure's cases again. The service strikes records as tenures end; this
//! strikes those of tenures that ended before it did:
//!
//! - records of partners that no longer manage the customer at all;
//! - records of a reseller the customer came back to, for cases filed before its current
//!   tenure began (it has more than one reseller period, so the earlier ones were its own).
//!
//! A support partner taken on again keeps its old records: no history tells its tenures
//! apart. The running counts follow by trigger. Portable SQL, the same on both backends.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NO_LONGER_MANAGING: &str = "DELETE FROM case_access \
     WHERE NOT EXISTS (SELECT 1 FROM customers cu WHERE cu.id = case_access.customer_id \
         AND cu.reseller_domain_id = case_access.domain_id) \
       AND NOT EXISTS (SELECT 1 FROM support_partners sp \
         WHERE sp.customer_id = case_access.customer_id \
         AND sp.partner_domain_id = case_access.domain_id)";

const EARLIER_TENURE_OF_A_RETURNING_RESELLER: &str = "DELETE FROM case_access \
     WHERE EXISTS (SELECT 1 FROM customers cu WHERE cu.id = case_access.customer_id \
         AND cu.reseller_domain_id = case_access.domain_id \
         AND case_access.create_time < cu.managed_since) \
       AND (SELECT COUNT(*) FROM customer_resellers r \
         WHERE r.customer_id = case_access.customer_id \
         AND r.reseller_domain_id = case_access.domain_id) > 1";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(NO_LONGER_MANAGING).await?;
        db.execute_unprepared(EARLIER_TENURE_OF_A_RETURNING_RESELLER)
            .await?;
        Ok(())
    }

    /// The struck records are not kept anywhere: there is nothing to restore.
    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
