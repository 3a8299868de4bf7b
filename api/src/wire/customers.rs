//! The wire shapes of customers shared by the partner's, the customer's and the provider's
//! endpoints: postal addresses, contacts (parsed into the domain's values here, once), the
//! customer path and the customer list's cursor.

use casebridge_domain::{
    Contact as DomainContact, FieldParser, PostalAddress as DomainPostalAddress, PostalAddressInput,
};
use casebridge_persistence::repo::customers::{ContactData, CustomerRecord, PostalAddressData};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A postal address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    /// Street lines, 1 to 5.
    #[schema(example = json!(["1 Market Street", "Floor 3"]))]
    #[schema(value_type = Vec<crate::wire::text::ShortLine>, min_items = 1, max_items = 5)]
    pub lines: Vec<String>,
    /// City or town.
    #[schema(example = "Springfield")]
    #[schema(value_type = crate::wire::text::ShortLine)]
    pub locality: String,
    /// State, county or province.
    #[schema(value_type = Option<crate::wire::text::ShortLine>)]
    pub region: Option<String>,
    /// Postal code.
    #[schema(value_type = Option<crate::wire::text::ShortLine>)]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[schema(example = "US")]
    #[schema(value_type = crate::wire::text::Country)]
    pub country_code: String,
}

/// The customer's contact person.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Name.
    #[schema(value_type = crate::wire::text::NameText)]
    pub name: String,
    /// Email.
    #[schema(value_type = crate::wire::text::Email)]
    pub email: String,
    /// Phone.
    #[schema(value_type = Option<crate::wire::text::Phone>)]
    pub phone: Option<String>,
}

impl From<PostalAddressData> for PostalAddress {
    fn from(d: PostalAddressData) -> Self {
        Self {
            lines: d.lines,
            locality: d.locality,
            region: d.region,
            postal_code: d.postal_code,
            country_code: d.country_code,
        }
    }
}

impl From<ContactData> for Contact {
    fn from(d: ContactData) -> Self {
        Self {
            name: d.name,
            email: d.email,
            phone: d.phone,
        }
    }
}

/// Parses a postal address, naming refused fields under `prefix`.
pub fn parse_postal_address(
    p: &mut FieldParser,
    prefix: &str,
    a: &PostalAddress,
) -> Option<PostalAddressData> {
    let given = PostalAddressInput {
        lines: &a.lines,
        locality: &a.locality,
        region: a.region.as_deref(),
        postal_code: a.postal_code.as_deref(),
        country_code: &a.country_code,
    };
    DomainPostalAddress::parse(p, prefix, given).map(Into::into)
}

/// Parses a contact, naming refused fields under `prefix`.
pub fn parse_contact(p: &mut FieldParser, prefix: &str, c: &Contact) -> Option<ContactData> {
    DomainContact::parse(p, prefix, &c.name, &c.email, c.phone.as_deref()).map(Into::into)
}

/// Where a customer page starts.
pub type CustomerCursor = (String, Uuid);

/// The cursor after a customer.
pub fn cursor_of(c: &CustomerRecord) -> CustomerCursor {
    (c.name.clone(), c.id.as_uuid())
}

/// The id of a customer in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CustomerPath {
    /// The customer's id.
    #[param(value_type = crate::wire::text::Id)]
    pub customer_id: String,
}
