//! Customers, who manages them, and transfers between resellers.

use casebridge_domain::{
    CustomerId, DomainId, Management, Relationship, ResellerAccess, SupportTier, visibility,
};
use sea_orm::sea_query::{Alias, Expr, Func, JoinType, LockType, Order, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{from_micros, stored, to_micros};
use crate::PersistenceError;
use crate::entities::{case_access, customer_resellers, customers, domains, support_partners};
use crate::read::Reads;

/// A postal address as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddressData {
    /// Street lines.
    pub lines: Vec<String>,
    /// City or town.
    pub locality: String,
    /// State, county or province.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
}

impl From<casebridge_domain::PostalAddress> for PostalAddressData {
    fn from(a: casebridge_domain::PostalAddress) -> Self {
        Self {
            lines: a.lines.into_iter().map(|l| l.into_inner()).collect(),
            locality: a.locality.into_inner(),
            region: a.region.map(|r| r.into_inner()),
            postal_code: a.postal_code.map(|c| c.into_inner()),
            country_code: a.country_code.as_str().to_owned(),
        }
    }
}

/// A contact as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactData {
    /// The person's name.
    pub name: String,
    /// Their email.
    pub email: String,
    /// Their phone.
    pub phone: Option<String>,
}

impl From<casebridge_domain::Contact> for ContactData {
    fn from(c: casebridge_domain::Contact) -> Self {
        Self {
            name: c.name.into_inner(),
            email: c.email.to_string(),
            phone: c.phone.map(|p| p.as_str().to_owned()),
        }
    }
}

/// A customer with the names of its domains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRecord {
    /// Id.
    pub id: CustomerId,
    /// The organisation's name.
    pub name: String,
    /// Its own domain.
    pub domain_id: DomainId,
    /// Its own domain's name.
    pub domain_name: String,
    /// Its reseller's domain.
    pub reseller_domain_id: DomainId,
    /// Its reseller's domain's name.
    pub reseller_domain_name: String,
    /// Whether it authorised its reseller.
    pub reseller_access: ResellerAccess,
    /// Its support tier.
    pub support_tier: SupportTier,
    /// Its postal address.
    pub postal_address: PostalAddressData,
    /// Its contact.
    pub contact: ContactData,
    /// Since when its reseller manages it.
    pub managed_since: OffsetDateTime,
    /// Created.
    pub create_time: OffsetDateTime,
    /// Last changed.
    pub update_time: OffsetDateTime,
}

/// A customer as one partner domain sees it.
#[derive(Debug, Clone)]
pub struct ManagedCustomer {
    /// The customer.
    pub customer: CustomerRecord,
    /// How the partner relates to it.
    pub relationship: Relationship,
    /// Since when the partner manages it.
    pub since: OffsetDateTime,
}

/// An active support partnership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportPartnerRecord {
    /// The partner domain.
    pub domain_id: DomainId,
    /// Its name.
    pub domain_name: String,
    /// Since when.
    pub since: OffsetDateTime,
}

crate::read_row! {
    #[derive(Debug)]
    struct CustomerRow {
        id: Uuid,
        name: String,
        domain_id: Uuid,
        domain_name: String,
        reseller_domain_id: Uuid,
        reseller_domain_name: String,
        reseller_access: String,
        support_tier: String,
        postal_address: String,
        contact: String,
        managed_since: i64,
        create_time: i64,
        update_time: i64,
        partner_since: Option<i64>,
    }
}

impl CustomerRow {
    fn into_record(self) -> Result<(CustomerRecord, Option<i64>), PersistenceError> {
        let access = super::stored_access(&self.reseller_access)?;
        Ok((
            CustomerRecord {
                id: CustomerId::from_uuid(self.id),
                name: self.name,
                domain_id: DomainId::from_uuid(self.domain_id),
                domain_name: self.domain_name,
                reseller_domain_id: DomainId::from_uuid(self.reseller_domain_id),
                reseller_domain_name: self.reseller_domain_name,
                reseller_access: access,
                support_tier: stored("support tier", self.support_tier.parse::<SupportTier>())?,
                postal_address: stored(
                    "postal address",
                    serde_json::from_str(&self.postal_address),
                )?,
                contact: stored("contact", serde_json::from_str(&self.contact))?,
                managed_since: from_micros(self.managed_since),
                create_time: from_micros(self.create_time),
                update_time: from_micros(self.update_time),
            },
            self.partner_since,
        ))
    }
}

fn own_domain() -> Alias {
    Alias::new("own_domain")
}

fn reseller_domain() -> Alias {
    Alias::new("reseller_domain")
}

/// The select of customers with their domains' names; `partner` adds that partner's
/// support-partnership start (`partner_since`).
fn customer_select(partner: Option<DomainId>) -> SelectStatement {
    let mut q = Query::select();
    q.columns([
        (customers::Entity, customers::Column::Id),
        (customers::Entity, customers::Column::Name),
        (customers::Entity, customers::Column::DomainId),
        (customers::Entity, customers::Column::ResellerDomainId),
        (customers::Entity, customers::Column::ResellerAccess),
        (customers::Entity, customers::Column::SupportTier),
        (customers::Entity, customers::Column::PostalAddress),
        (customers::Entity, customers::Column::Contact),
        (customers::Entity, customers::Column::ManagedSince),
        (customers::Entity, customers::Column::CreateTime),
        (customers::Entity, customers::Column::UpdateTime),
    ])
    .expr_as(
        Expr::col((own_domain(), domains::Column::Name)),
        Alias::new("domain_name"),
    )
    .expr_as(
        Expr::col((reseller_domain(), domains::Column::Name)),
        Alias::new("reseller_domain_name"),
    )
    .from(customers::Entity)
    .join_as(
        JoinType::InnerJoin,
        domains::Entity,
        own_domain(),
        Expr::col((own_domain(), domains::Column::Id))
            .equals((customers::Entity, customers::Column::DomainId)),
    )
    .join_as(
        JoinType::InnerJoin,
        domains::Entity,
        reseller_domain(),
        Expr::col((reseller_domain(), domains::Column::Id))
            .equals((customers::Entity, customers::Column::ResellerDomainId)),
    );
    match partner {
        Some(partner) => {
            q.expr_as(
                Expr::col((
                    support_partners::Entity,
                    support_partners::Column::StartTime,
                )),
                Alias::new("partner_since"),
            )
            .join(
                JoinType::LeftJoin,
                support_partners::Entity,
                Expr::col((
                    support_partners::Entity,
                    support_partners::Column::CustomerId,
                ))
                .equals((customers::Entity, customers::Column::Id))
                .and(
                    Expr::col((
                        support_partners::Entity,
                        support_partners::Column::PartnerDomainId,
                    ))
                    .eq(partner.as_uuid()),
                ),
            );
        }
        None => {
            q.expr_as(
                Expr::value(Option::<i64>::None),
                Alias::new("partner_since"),
            );
        }
    }
    q.to_owned()
}

async fn fetch(
    conn: &impl Reads,
    q: &SelectStatement,
) -> Result<Vec<(CustomerRecord, Option<i64>)>, PersistenceError> {
    let rows = conn.rows::<CustomerRow>(conn.backend().build(q)).await?;
    rows.into_iter().map(CustomerRow::into_record).collect()
}

/// The customer with this id.
pub async fn find_customer(
    conn: &impl Reads,
    id: CustomerId,
) -> Result<Option<CustomerRecord>, PersistenceError> {
    let mut q = customer_select(None);
    q.and_where(Expr::col((customers::Entity, customers::Column::Id)).eq(id.as_uuid()));
    Ok(fetch(conn, &q).await?.into_iter().next().map(|(c, _)| c))
}

/// The customer, its row locked for the rest of the write transaction (see
/// [`super::locks`]: the customer is the third lock of the canonical order): the lock and the
/// read in one statement, `SELECT … FOR NO KEY UPDATE OF customers` on PostgreSQL: a
/// transaction changing the customer is waited for, and the row it committed is what is read.
/// On SQLite the transaction already holds the database's write lock.
pub async fn lock_customer(
    conn: &impl Reads,
    id: CustomerId,
) -> Result<Option<CustomerRecord>, PersistenceError> {
    locked_customer(conn, id, LockType::NoKeyUpdate).await
}

/// The customer, its row share-locked for the rest of the write transaction (the third lock
/// of [`super::locks`]'s order, taken to file a case): `SELECT … FOR SHARE OF customers` on
/// PostgreSQL. Filings of one customer hold it side by side; a transaction changing the
/// customer or its cases (which locks it with [`lock_customer`]) waits for them, or they for
/// it, so a filing decides on the authorisation that stands until it commits. On SQLite the
/// transaction already holds the database's write lock.
pub async fn share_customer(
    conn: &impl Reads,
    id: CustomerId,
) -> Result<Option<CustomerRecord>, PersistenceError> {
    locked_customer(conn, id, LockType::Share).await
}

/// The customer, read and locked with `lock` in one statement (PostgreSQL; SQLite has no row
/// locks).
async fn locked_customer(
    conn: &impl Reads,
    id: CustomerId,
    lock: LockType,
) -> Result<Option<CustomerRecord>, PersistenceError> {
    let mut q = customer_select(None);
    q.and_where(Expr::col((customers::Entity, customers::Column::Id)).eq(id.as_uuid()))
        .lock_with_tables(lock, [customers::Entity]);
    Ok(fetch(conn, &q).await?.into_iter().next().map(|(c, _)| c))
}

/// The customer whose own domain this is.
pub async fn find_customer_by_domain(
    conn: &impl ConnectionTrait,
    domain: DomainId,
) -> Result<Option<CustomerRecord>, PersistenceError> {
    let mut q = customer_select(None);
    q.and_where(Expr::col((customers::Entity, customers::Column::DomainId)).eq(domain.as_uuid()));
    Ok(fetch(conn, &q).await?.into_iter().next().map(|(c, _)| c))
}

/// The customer as a partner domain sees it; `None` when the partner does not manage it.
pub async fn find_managed_customer(
    conn: &impl ConnectionTrait,
    partner: DomainId,
    id: CustomerId,
) -> Result<Option<ManagedCustomer>, PersistenceError> {
    let mut q = customer_select(Some(partner));
    q.and_where(Expr::col((customers::Entity, customers::Column::Id)).eq(id.as_uuid()));
    q.and_where(managed_by(partner));
    Ok(fetch(conn, &q)
        .await?
        .into_iter()
        .next()
        .map(|(c, since)| as_managed(c, partner, since)))
}

fn managed_by(partner: DomainId) -> sea_orm::sea_query::SimpleExpr {
    Expr::col((customers::Entity, customers::Column::ResellerDomainId))
        .eq(partner.as_uuid())
        .or(Expr::col((
            support_partners::Entity,
            support_partners::Column::PartnerDomainId,
        ))
        .is_not_null())
}

fn as_managed(
    customer: CustomerRecord,
    partner: DomainId,
    partner_since: Option<i64>,
) -> ManagedCustomer {
    if customer.reseller_domain_id == partner {
        ManagedCustomer {
            since: customer.managed_since,
            customer,
            relationship: Relationship::Reseller,
        }
    } else {
        ManagedCustomer {
            since: partner_since
                .map(from_micros)
                .unwrap_or(customer.managed_since),
            customer,
            relationship: Relationship::SupportPartner,
        }
    }
}

/// Which customers to list.
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    /// Only those this partner domain manages; `None` for every customer (the provider).
    pub partner: Option<DomainId>,
    /// Words that must appear in the name or the domain name (case-insensitive).
    pub q: Option<String>,
    /// Start after this customer (name, id).
    pub after: Option<(String, Uuid)>,
    /// Page size.
    pub limit: u64,
}

/// Escapes `%`, `_` and the escape character for a `LIKE` pattern.
pub(crate) fn like_pattern(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('%');
    for c in word.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn apply_filters(q: &mut SelectStatement, query: &CustomerQuery) {
    if let Some(partner) = query.partner {
        q.and_where(managed_by(partner));
    }
    if let Some(text) = &query.q {
        for word in text.split_whitespace().take(8) {
            let pattern = like_pattern(word);
            let name = Expr::expr(Func::lower(Expr::col((
                customers::Entity,
                customers::Column::Name,
            ))))
            .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\'));
            let domain = Expr::col((own_domain(), domains::Column::Name))
                .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\'));
            q.and_where(name.or(domain));
        }
    }
}

/// A page of customers by name, and how many match in all.
pub async fn list_customers(
    conn: &impl ConnectionTrait,
    query: &CustomerQuery,
) -> Result<(Vec<ManagedOrAll>, u64), PersistenceError> {
    let mut q = customer_select(query.partner);
    apply_filters(&mut q, query);
    let mut count = q.clone();
    if let Some((name, id)) = &query.after {
        q.and_where(
            Expr::tuple([
                Expr::col((customers::Entity, customers::Column::Name)),
                Expr::col((customers::Entity, customers::Column::Id)),
            ])
            .gt(Expr::tuple([Expr::value(name.clone()), Expr::value(*id)])),
        );
    }
    q.order_by((customers::Entity, customers::Column::Name), Order::Asc)
        .order_by((customers::Entity, customers::Column::Id), Order::Asc)
        .limit(query.limit);
    let rows = fetch(conn, &q).await?;
    count.clear_selects();
    count.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
    let total: i64 = conn
        .query_one(&count)
        .await?
        .map(|r| r.try_get("", "n"))
        .transpose()?
        .unwrap_or(0);
    let items = rows
        .into_iter()
        .map(|(c, since)| match query.partner {
            Some(p) => ManagedOrAll::Managed(as_managed(c, p, since)),
            None => ManagedOrAll::All(c),
        })
        .collect();
    Ok((items, u64::try_from(total).unwrap_or(0)))
}

/// A listed customer: as a partner sees it, or plainly (the provider).
#[derive(Debug, Clone)]
pub enum ManagedOrAll {
    /// As the partner sees it.
    Managed(ManagedCustomer),
    /// Plainly.
    All(CustomerRecord),
}

/// The customer's active support partners, by domain name.
pub async fn support_partners(
    conn: &impl Reads,
    customer: CustomerId,
) -> Result<Vec<SupportPartnerRecord>, PersistenceError> {
    // The partners with their domains' names, in one statement.
    let q = Query::select()
        .column((
            support_partners::Entity,
            support_partners::Column::PartnerDomainId,
        ))
        .column((
            support_partners::Entity,
            support_partners::Column::StartTime,
        ))
        .expr_as(
            Expr::col((domains::Entity, domains::Column::Name)),
            "domain_name",
        )
        .from(support_partners::Entity)
        .left_join(
            domains::Entity,
            Expr::col((domains::Entity, domains::Column::Id)).equals((
                support_partners::Entity,
                support_partners::Column::PartnerDomainId,
            )),
        )
        .and_where(
            Expr::col((
                support_partners::Entity,
                support_partners::Column::CustomerId,
            ))
            .eq(customer.as_uuid()),
        )
        .to_owned();
    let rows = conn.rows::<PartnerRow>(conn.backend().build(&q)).await?;
    let mut out: Vec<SupportPartnerRecord> = rows
        .into_iter()
        .map(|p| SupportPartnerRecord {
            domain_id: DomainId::from_uuid(p.partner_domain_id),
            domain_name: p.domain_name.unwrap_or_default(),
            since: from_micros(p.start_time),
        })
        .collect();
    out.sort_by(|a, b| a.domain_name.cmp(&b.domain_name));
    Ok(out)
}

crate::read_row! {
    /// A support partner, with its domain's name.
    struct PartnerRow {
        partner_domain_id: Uuid,
        start_time: i64,
        domain_name: Option<String>,
    }
}

/// Who manages the customer now, as the rules see it.
pub async fn management(
    conn: &impl Reads,
    customer: &CustomerRecord,
) -> Result<Management, PersistenceError> {
    let partners = support_partners(conn, customer.id).await?;
    Ok(Management {
        reseller: customer.reseller_domain_id,
        reseller_access: customer.reseller_access,
        support_partners: partners.into_iter().map(|p| p.domain_id).collect(),
    })
}

/// A new customer.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    /// The organisation's name.
    pub name: String,
    /// Its own domain.
    pub domain_id: DomainId,
    /// Its reseller.
    pub reseller_domain_id: DomainId,
    /// Its support tier.
    pub support_tier: SupportTier,
    /// Its postal address.
    pub postal_address: PostalAddressData,
    /// Its contact.
    pub contact: ContactData,
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Stores a new customer: it has not authorised its reseller yet. `Conflict` when its domain
/// already has a customer.
pub async fn insert_customer(
    conn: &impl ConnectionTrait,
    new: &NewCustomer,
    now: OffsetDateTime,
) -> Result<CustomerId, PersistenceError> {
    let id = CustomerId::generate();
    insert_customer_with_id(conn, id, new, now).await?;
    Ok(id)
}

/// Stores a new customer under a given id (imports keep a stable mapping).
pub async fn insert_customer_with_id(
    conn: &impl ConnectionTrait,
    id: CustomerId,
    new: &NewCustomer,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    let t = to_micros(now);
    customers::Entity::insert(customers::ActiveModel {
        id: Set(id.as_uuid()),
        name: Set(new.name.clone()),
        domain_id: Set(new.domain_id.as_uuid()),
        reseller_domain_id: Set(new.reseller_domain_id.as_uuid()),
        reseller_access: Set(ResellerAccess::Revoked.as_str().to_owned()),
        support_tier: Set(new.support_tier.as_str().to_owned()),
        postal_address: Set(json(&new.postal_address)),
        contact: Set(json(&new.contact)),
        managed_since: Set(t),
        create_time: Set(t),
        update_time: Set(t),
    })
    .exec_without_returning(conn)
    .await?;
    open_reseller_period(conn, id, new.reseller_domain_id, now).await
}

async fn open_reseller_period(
    conn: &impl ConnectionTrait,
    customer: CustomerId,
    reseller: DomainId,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    customer_resellers::Entity::insert(customer_resellers::ActiveModel {
        id: Set(Uuid::now_v7()),
        customer_id: Set(customer.as_uuid()),
        reseller_domain_id: Set(reseller.as_uuid()),
        start_time: Set(to_micros(now)),
        end_time: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// What changes about a customer's sales-console data; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CustomerChanges {
    /// Name.
    pub name: Option<String>,
    /// Support tier.
    pub support_tier: Option<SupportTier>,
    /// Postal address.
    pub postal_address: Option<PostalAddressData>,
    /// Contact.
    pub contact: Option<ContactData>,
}

/// Applies changes to a customer.
pub async fn update_customer(
    conn: &impl ConnectionTrait,
    id: CustomerId,
    changes: &CustomerChanges,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    let mut update = customers::Entity::update_many()
        .col_expr(customers::Column::UpdateTime, Expr::value(to_micros(now)))
        .filter(customers::Column::Id.eq(id.as_uuid()));
    if let Some(name) = &changes.name {
        update = update.col_expr(customers::Column::Name, Expr::value(name.clone()));
    }
    if let Some(tier) = changes.support_tier {
        update = update.col_expr(customers::Column::SupportTier, Expr::value(tier.as_str()));
    }
    if let Some(address) = &changes.postal_address {
        update = update.col_expr(customers::Column::PostalAddress, Expr::value(json(address)));
    }
    if let Some(contact) = &changes.contact {
        update = update.col_expr(customers::Column::Contact, Expr::value(json(contact)));
    }
    let result = update.exec(conn).await?;
    if result.rows_affected == 0 {
        return Err(PersistenceError::NotFound);
    }
    Ok(())
}

/// Sets whether the customer authorises its reseller.
pub async fn set_reseller_access(
    conn: &impl ConnectionTrait,
    id: CustomerId,
    access: ResellerAccess,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    customers::Entity::update_many()
        .col_expr(
            customers::Column::ResellerAccess,
            Expr::value(access.as_str()),
        )
        .col_expr(customers::Column::UpdateTime, Expr::value(to_micros(now)))
        .filter(customers::Column::Id.eq(id.as_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Moves the customer from `before` to the management the rules computed for a transfer: the
/// reseller period of the old reseller closes, the new one's opens, and the tenures the move
/// ends stop being recorded on the customer's cases.
pub async fn apply_transfer(
    conn: &impl ConnectionTrait,
    id: CustomerId,
    before: &Management,
    after: &Management,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    for partner in visibility::ended_tenures(before, after) {
        end_tenure(conn, id, partner).await?;
    }
    let t = to_micros(now);
    customers::Entity::update_many()
        .col_expr(
            customers::Column::ResellerDomainId,
            Expr::value(after.reseller.as_uuid()),
        )
        .col_expr(
            customers::Column::ResellerAccess,
            Expr::value(after.reseller_access.as_str()),
        )
        .col_expr(customers::Column::ManagedSince, Expr::value(t))
        .col_expr(customers::Column::UpdateTime, Expr::value(t))
        .filter(customers::Column::Id.eq(id.as_uuid()))
        .exec(conn)
        .await?;
    customer_resellers::Entity::update_many()
        .col_expr(customer_resellers::Column::EndTime, Expr::value(t))
        .filter(customer_resellers::Column::CustomerId.eq(id.as_uuid()))
        .filter(customer_resellers::Column::EndTime.is_null())
        .exec(conn)
        .await?;
    open_reseller_period(conn, id, after.reseller, now).await?;
    support_partners::Entity::delete_many()
        .filter(support_partners::Column::CustomerId.eq(id.as_uuid()))
        .filter(
            support_partners::Column::PartnerDomainId
                .is_not_in(after.support_partners.iter().map(|d| d.as_uuid())),
        )
        .exec(conn)
        .await?;
    Ok(())
}

/// Which resellers managed the customer when, oldest first.
pub async fn reseller_history(
    conn: &impl ConnectionTrait,
    id: CustomerId,
) -> Result<Vec<(DomainId, OffsetDateTime, Option<OffsetDateTime>)>, PersistenceError> {
    use sea_orm::QueryOrder;
    Ok(customer_resellers::Entity::find()
        .filter(customer_resellers::Column::CustomerId.eq(id.as_uuid()))
        .order_by_asc(customer_resellers::Column::StartTime)
        .all(conn)
        .await?
        .into_iter()
        .map(|r| {
            (
                DomainId::from_uuid(r.reseller_domain_id),
                from_micros(r.start_time),
                r.end_time.map(from_micros),
            )
        })
        .collect())
}

/// Adds an active support partner.
pub async fn add_support_partner(
    conn: &impl ConnectionTrait,
    customer: CustomerId,
    partner: DomainId,
    now: OffsetDateTime,
) -> Result<(), PersistenceError> {
    support_partners::Entity::insert(support_partners::ActiveModel {
        customer_id: Set(customer.as_uuid()),
        partner_domain_id: Set(partner.as_uuid()),
        start_time: Set(to_micros(now)),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Ends a support partnership, and with it the partner's tenure on the customer's cases;
/// `false` when there was none.
pub async fn remove_support_partner(
    conn: &impl ConnectionTrait,
    customer: CustomerId,
    partner: DomainId,
) -> Result<bool, PersistenceError> {
    let result = support_partners::Entity::delete_many()
        .filter(support_partners::Column::CustomerId.eq(customer.as_uuid()))
        .filter(support_partners::Column::PartnerDomainId.eq(partner.as_uuid()))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Ok(false);
    }
    end_tenure(conn, customer, partner).await?;
    Ok(true)
}

/// A partner's tenure with a customer has ended (`visibility::ended_tenures`): its cases stop
/// recording the partner, so no later tenure of it sees them. The running counts follow by
/// trigger.
async fn end_tenure(
    conn: &impl ConnectionTrait,
    customer: CustomerId,
    partner: DomainId,
) -> Result<(), PersistenceError> {
    case_access::Entity::delete_many()
        .filter(case_access::Column::CustomerId.eq(customer.as_uuid()))
        .filter(case_access::Column::DomainId.eq(partner.as_uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards_and_lower_case() {
        assert_eq!(like_pattern("Acme"), "%acme%");
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
