//! The legacy import format, version 1: JSON Lines, one record per line, each with a `kind`
//! and the old system's `id`. Documented in `docs/legacy-import.md`, described by
//! `docs/legacy-import.schema.json`.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::OffsetDateTime;

use crate::wire;

/// The format's name, in the first line.
pub const FORMAT: &str = "casebridge-legacy";
/// The version this build reads.
pub const VERSION: u32 = 1;

/// The first line: what the file is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// Always `casebridge-legacy`.
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// When the old system exported it.
    #[serde(default, with = "wire::timestamp::option")]
    pub exported_at: Option<OffsetDateTime>,
    /// Which system exported it.
    pub source: Option<String>,
}

/// A domain.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    /// Old id.
    pub id: String,
    /// DNS name.
    pub name: String,
    /// Realm.
    pub realm: wire::Realm,
}

/// A custom role of a domain.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// Old id.
    pub id: String,
    /// Old id of its domain.
    pub domain: String,
    /// Name.
    pub name: String,
    /// Privileges.
    pub privileges: Vec<wire::Privilege>,
}

/// A user.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Old id.
    pub id: String,
    /// Old id of its domain.
    pub domain: String,
    /// Email (sign-in name), an address of the domain.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// The password hash as a PHC string (`$argon2id$…`) or bcrypt (`$2b$…`).
    pub password_hash: String,
    /// Whether the account is suspended.
    #[serde(default)]
    pub suspended: bool,
    /// Where case mail goes instead of the email.
    pub notification_email: Option<String>,
    /// Organisational unit.
    pub org_unit: Option<String>,
    /// Built-in role names (`support_manager` included) and old ids of custom roles.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A customer.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// Old id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Old id of its own (customer-realm) domain.
    pub domain: String,
    /// Old id of its reseller domain.
    pub reseller_domain: String,
    /// Support tier.
    pub support_tier: wire::SupportTier,
    /// Whether it authorised its reseller.
    pub reseller_access: wire::ResellerAccess,
    /// Postal address.
    pub postal_address: PostalAddress,
    /// Contact person.
    pub contact: Contact,
    /// Old ids of its support partners' (reseller-realm) domains.
    #[serde(default)]
    pub support_partners: Vec<String>,
}

/// A postal address in the file. The file's own type: a change to the API's address does not
/// change the import format.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    /// Street lines, 1 to 5.
    pub lines: Vec<String>,
    /// City or town.
    pub locality: String,
    /// State, county or province.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: String,
}

impl PostalAddress {
    /// The address as given, for the domain's parser.
    pub fn input(&self) -> casebridge_domain::PostalAddressInput<'_> {
        casebridge_domain::PostalAddressInput {
            lines: &self.lines,
            locality: &self.locality,
            region: self.region.as_deref(),
            postal_code: self.postal_code.as_deref(),
            country_code: &self.country_code,
        }
    }
}

/// A customer's contact person in the file.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Phone number.
    pub phone: Option<String>,
}

/// Who acted on a case in the old system.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// A partner.
    Partner,
    /// A customer user.
    Customer,
    /// Support.
    Support,
}

/// An escalation in force.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Why.
    pub reason: wire::EscalationReason,
    /// In the escalating person's words.
    pub justification: String,
    /// When.
    #[serde(with = "wire::timestamp")]
    pub time: OffsetDateTime,
}

/// A comment of a case.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    /// Old id.
    pub id: String,
    /// Old id of its author, when an imported user.
    pub author: Option<String>,
    /// The author's email, when not an imported user (support staff).
    pub author_email: Option<String>,
    /// The author's party; default: from the author's domain.
    pub party: Option<Party>,
    /// The text.
    pub body: String,
    /// When.
    #[serde(with = "wire::timestamp")]
    pub create_time: OffsetDateTime,
}

fn google_workspace() -> wire::ProductType {
    wire::ProductType::GoogleWorkspace
}

/// A case, with its history.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Old id.
    pub id: String,
    /// The old case number, kept; a new one is given when absent.
    pub case_number: Option<i64>,
    /// Old id of its customer.
    pub customer: String,
    /// Old id of the user who filed it.
    pub creator: String,
    /// Product type.
    #[serde(default = "google_workspace")]
    pub product_type: wire::ProductType,
    /// Title.
    pub title: String,
    /// A category of casebridge's catalogue.
    pub classification_id: String,
    /// Description.
    pub description: String,
    /// Answers by question id.
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
    /// Severity.
    pub severity: wire::Severity,
    /// Status.
    pub status: wire::CaseStatus,
    /// Language.
    pub language_code: String,
    /// Time zone.
    pub time_zone: String,
    /// Subscribers.
    #[serde(default)]
    pub subscriber_emails: Vec<String>,
    /// Created.
    #[serde(with = "wire::timestamp")]
    pub create_time: OffsetDateTime,
    /// Last changed.
    #[serde(with = "wire::timestamp")]
    pub update_time: OffsetDateTime,
    /// When it was closed, if it is.
    #[serde(default, with = "wire::timestamp::option")]
    pub close_time: Option<OffsetDateTime>,
    /// The escalation in force.
    pub escalation: Option<Escalation>,
    /// Old ids of the partner domains that see it; default: those managing the customer.
    pub partner_domains: Option<Vec<String>>,
    /// Its history, oldest first.
    #[serde(default)]
    pub comments: Vec<Comment>,
}

/// One record of the file.
#[derive(Debug)]
pub enum Record {
    /// The header.
    Export(Export),
    /// A domain.
    Domain(Domain),
    /// A custom role.
    Role(Role),
    /// A user.
    User(User),
    /// A customer.
    Customer(Customer),
    /// A case.
    Case(Box<Case>),
}

/// Parses one line: its `kind`, then the record with every field checked.
pub fn parse_line(line: &str) -> Result<(Record, Option<String>), String> {
    let mut value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| "not a JSON object".to_owned())?;
    let kind = object
        .remove("kind")
        .and_then(|k| k.as_str().map(str::to_owned))
        .ok_or_else(|| "no kind".to_owned())?;
    let id = object.get("id").and_then(|v| v.as_str()).map(str::to_owned);
    fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                e.inner().to_string()
            } else {
                format!("{path}: {}", e.inner())
            }
        })
    }
    let record = match kind.as_str() {
        "export" => Record::Export(typed(value)?),
        "domain" => Record::Domain(typed(value)?),
        "role" => Record::Role(typed(value)?),
        "user" => Record::User(typed(value)?),
        "customer" => Record::Customer(typed(value)?),
        "case" => Record::Case(Box::new(typed(value)?)),
        other => return Err(format!("unknown kind {other:?}")),
    };
    Ok((record, id))
}
