//! Value types that parse, not validate: a value of one of these types is valid by construction.

use std::fmt;
use std::str::FromStr;

use crate::InvalidValue;

/// Counts characters (Unicode scalar values), which is what a person means by "length".
fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// The JSON Schema pattern of a single-line text: no control characters, no bidirectional
/// or zero-width format characters (see [`is_format_control`]), not blank.
pub const SINGLE_LINE_PATTERN: &str = r"^[^\x00-\x1F\x7F-\x9F\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]*[^\x00-\x20\x7F-\xA0\u061C\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u2066-\u2069\u3000\uFEFF][^\x00-\x1F\x7F-\x9F\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]*$";

/// Whether a character is an invisible format character that changes how the text around it
/// displays or compares: the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069; `invoice\u{202E}gpj.exe` displays as `invoiceexe.jpg`) and the zero-width
/// ones (U+180E, U+200B–U+200D, U+2060–U+2064, U+FEFF), which make two names that look alike
/// differ.
pub fn is_format_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}
/// The JSON Schema pattern of a multi-line text: no control characters but tab and line
/// breaks, not blank.
pub const MULTI_LINE_PATTERN: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";

/// Checks a free-text value exactly as its published schema does (at most `max` characters,
/// no forbidden control characters, not blank), and keeps it trimmed. Control characters hide
/// text from readers and break mail headers.
fn bounded_text(raw: &str, max: usize, allow_newlines: bool) -> Result<String, InvalidValue> {
    if char_len(raw) > max {
        return Err(InvalidValue::new(
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    let bad = raw
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')));
    // Names and titles are read in lists, mail subjects and file listings, out of context:
    // there a format character only disguises. Longer texts keep them (joiners serve emoji
    // and scripts there), as they are read whole.
    if !allow_newlines && raw.chars().any(is_format_control) {
        return Err(InvalidValue::new(
            "invalid_characters",
            "must not contain bidirectional controls or zero-width characters",
        ));
    }
    if bad {
        return Err(InvalidValue::new(
            "invalid_characters",
            if allow_newlines {
                "must not contain control characters other than line breaks and tabs"
            } else {
                "must not contain control characters or line breaks"
            },
        ));
    }
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(InvalidValue::new("required", "must not be empty"));
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $max:expr, $newlines:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Most characters accepted.
            pub const MAX_CHARS: usize = $max;
            /// Whether line breaks and tabs are allowed.
            pub const MULTI_LINE: bool = $newlines;
            /// The JSON Schema pattern the value matches.
            pub const PATTERN: &'static str = if $newlines { MULTI_LINE_PATTERN } else { SINGLE_LINE_PATTERN };

            /// Parses untrusted input.
            pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
                bounded_text(raw, $max, $newlines).map(Self)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(
    /// A case's title: 1..=200 characters on one line, trimmed.
    CaseTitle, 200, false
);
text_type!(
    /// A case's description: 1..=32,000 characters, trimmed.
    Description, 32_000, true
);
text_type!(
    /// A comment in a case's history: 1..=12,800 characters, trimmed.
    CommentBody, 12_800, true
);
text_type!(
    /// The answer to a classification question: 1..=4,000 characters, trimmed.
    Answer, 4_000, true
);
text_type!(
    /// Why a case is escalated: 1..=2,000 characters, trimmed.
    Justification, 2_000, true
);
text_type!(
    /// A person's or an organisation's display name: 1..=100 characters on one line.
    DisplayName, 100, false
);
text_type!(
    /// A custom role's name: 1..=64 characters on one line.
    RoleName, 64, false
);
text_type!(
    /// A short single-line label (locality, region, postal code, address line): 1..=200 characters.
    ShortText, 200, false
);

/// Consumer mail providers: a domain's administrator must be an account of the organisation,
/// not a personal mailbox.
const CONSUMER_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "ymail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.com",
    "yandex.ru",
    "zoho.com",
    "qq.com",
    "163.com",
];

/// Compiles a pattern that is a constant of this module (each is compiled by a test).
#[allow(clippy::expect_used)]
fn compiled(pattern: &'static str) -> regex::Regex {
    regex::Regex::new(pattern).expect("the module's patterns compile")
}

macro_rules! matcher {
    ($name:ident, $pattern:expr) => {
        fn $name(s: &str) -> bool {
            static RE: std::sync::LazyLock<regex::Regex> =
                std::sync::LazyLock::new(|| compiled($pattern));
            RE.is_match(s)
        }
    };
}

/// A DNS label: letters, digits and inner hyphens, at most 63 characters.
macro_rules! label {
    () => {
        r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    };
}

/// A top-level label: as a label, starting with a letter (so IP addresses are not names).
macro_rules! top_label {
    () => {
        r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    };
}

/// An email address, lower-cased so that one mailbox has one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

matcher!(is_email, EmailAddress::PATTERN);

impl EmailAddress {
    /// The JSON Schema pattern of an email address: a dot-atom local part of at most 64
    /// characters, `@`, and a domain name.
    pub const PATTERN: &'static str = concat!(
        r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:",
        label!(),
        r"\.)+",
        top_label!(),
        "$"
    );
    /// Most characters of an address.
    pub const MAX_CHARS: usize = 254;

    /// Parses untrusted input: exactly what the schema allows.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.len() > Self::MAX_CHARS || !is_email(raw) {
            return Err(InvalidValue::new(
                "invalid_email",
                "must be an email address",
            ));
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or_default()
    }

    /// Whether this is a personal mailbox of a consumer mail provider such as `@gmail.com`.
    pub fn is_consumer(&self) -> bool {
        CONSUMER_MAIL_DOMAINS.contains(&self.domain())
    }

    /// Whether the address belongs to the given domain name (exactly, not a subdomain).
    pub fn belongs_to(&self, domain: &DomainName) -> bool {
        self.domain() == domain.as_str()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EmailAddress {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A DNS domain name such as `reseller.example.com`: lower-case, at least two labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

matcher!(is_domain_name, DomainName::PATTERN);

impl DomainName {
    /// The JSON Schema pattern of a domain name (internationalised names in their `xn--`
    /// form).
    pub const PATTERN: &'static str = concat!(r"^(?:", label!(), r"\.)+", top_label!(), "$");
    /// Most characters of a name.
    pub const MAX_CHARS: usize = 253;

    /// Parses untrusted input: exactly what the schema allows.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.len() > Self::MAX_CHARS || !is_domain_name(raw) {
            return Err(InvalidValue::new(
                "invalid_domain",
                "must be a domain name such as example.com",
            ));
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DomainName {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A BCP 47 language tag of the form support answers in: a language, optionally a script
/// and a region (`en`, `en-GB`, `pt-BR`, `zh-Hant-TW`); well-formed per RFC 5646.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageCode(String);

matcher!(is_language_code, LanguageCode::PATTERN);

impl LanguageCode {
    /// The JSON Schema pattern of a language code.
    pub const PATTERN: &'static str =
        r"^[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?$";

    /// Parses untrusted input.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let invalid = || {
            InvalidValue::new(
                "invalid_language_code",
                "must be a language tag such as en, en-US or zh-Hant-TW",
            )
        };
        if !is_language_code(raw) {
            return Err(invalid());
        }
        // Every tag of the pattern is well-formed BCP 47; the parser confirms it.
        let tag = oxilangtag::LanguageTag::parse(raw.to_owned()).map_err(|_| invalid())?;
        Ok(Self(tag.into_inner()))
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LanguageCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IANA time zone such as `Europe/Berlin`, spelled as the bundled tz database spells it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeZone(String);

impl TimeZone {
    /// Every zone name of the bundled tz database, sorted.
    pub fn names() -> &'static [String] {
        static NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
            let mut names: Vec<String> =
                jiff::tz::db().available().map(|n| n.to_string()).collect();
            names.sort();
            names.dedup();
            names
        });
        &NAMES
    }

    /// Parses untrusted input: one of [`TimeZone::names`], exactly.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match Self::names().binary_search_by(|n| n.as_str().cmp(raw)) {
            Ok(i) => Ok(Self(Self::names()[i].clone())),
            Err(_) => Err(InvalidValue::new(
                "invalid_time_zone",
                "must be an IANA time zone such as Europe/Berlin",
            )),
        }
    }

    /// The zone's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How badly a problem hurts the customer; P1 is the most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Critical impact: a production service is down or unusable.
    P1,
    /// High impact: service use is severely impaired, no workaround.
    P2,
    /// Medium impact: service use is partially impaired.
    P3,
    /// Low impact: a question, or service is fully usable.
    P4,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 4] = [Severity::P1, Severity::P2, Severity::P3, Severity::P4];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::P1 => "P1",
            Severity::P2 => "P2",
            Severity::P3 => "P3",
            Severity::P4 => "P4",
        }
    }

    /// What the severity means, for people choosing one.
    pub fn meaning(self) -> &'static str {
        match self {
            Severity::P1 => "Critical impact: a production service is down or unusable",
            Severity::P2 => "High impact: service use is severely impaired with no workaround",
            Severity::P3 => "Medium impact: service use is partially impaired",
            Severity::P4 => "Low impact: a question or a minor issue; service is fully usable",
        }
    }

    /// 1 for P1 … 4 for P4: the storable rank, ascending severity order is descending urgency.
    pub fn rank(self) -> i16 {
        match self {
            Severity::P1 => 1,
            Severity::P2 => 2,
            Severity::P3 => 3,
            Severity::P4 => 4,
        }
    }

    /// The severity of a stored rank.
    pub fn from_rank(rank: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.rank() == rank)
    }
}

impl FromStr for Severity {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| InvalidValue::new("invalid_severity", "must be one of P1, P2, P3, P4"))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The product a case is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductType {
    /// Google Workspace, the productivity suite resellers sell.
    GoogleWorkspace,
}

impl ProductType {
    /// Every product type.
    pub const ALL: [ProductType; 1] = [ProductType::GoogleWorkspace];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductType::GoogleWorkspace => "google_workspace",
        }
    }
}

impl FromStr for ProductType {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| InvalidValue::new("invalid_product_type", "must be google_workspace"))
    }
}

/// A password that meets the policy: 12..=128 characters, not built from the account's email.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(**redacted**)")
    }
}

impl Password {
    /// Fewest characters accepted.
    pub const MIN_CHARS: usize = 12;
    /// Most characters accepted (hashing cost is bounded by it).
    pub const MAX_CHARS: usize = 128;

    /// Checks a new password for the account with this email against the policy.
    pub fn parse(raw: &str, email: &EmailAddress) -> Result<Self, InvalidValue> {
        let len = char_len(raw);
        if len < Self::MIN_CHARS {
            return Err(InvalidValue::new(
                "password_too_short",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if len > Self::MAX_CHARS {
            return Err(InvalidValue::new(
                "password_too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        let lowered = raw.to_lowercase();
        let local = email.local_part();
        if lowered.contains(email.as_str()) || (local.len() >= 4 && lowered.contains(local)) {
            return Err(InvalidValue::new(
                "password_contains_email",
                "must not contain the account's email address or its user name",
            ));
        }
        if raw.chars().collect::<std::collections::HashSet<_>>().len() < 4 {
            return Err(InvalidValue::new(
                "password_too_simple",
                "must use at least four different characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The secret, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An organisational-unit path such as `/Sales/EMEA`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrgUnitPath(String);

matcher!(is_org_unit, OrgUnitPath::PATTERN);

impl OrgUnitPath {
    /// The JSON Schema pattern of a path: `/`, or units of letters, digits, spaces and
    /// `_ . & ( ) ' -` starting with a letter or digit, each after a `/`.
    pub const PATTERN: &'static str =
        r"^/(?:[A-Za-z0-9][A-Za-z0-9 _.&()'-]{0,63}(?:/[A-Za-z0-9][A-Za-z0-9 _.&()'-]{0,63})*)?$";
    /// Most characters of a path.
    pub const MAX_CHARS: usize = 512;

    /// Parses untrusted input.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.len() > Self::MAX_CHARS || !is_org_unit(raw) {
            return Err(InvalidValue::new(
                "invalid_org_unit",
                "must be a path such as /Sales/EMEA (at most 512 characters)",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 3166-1 alpha-2 country code such as `DE`, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CountryCode(String);

matcher!(is_country_code, CountryCode::PATTERN);

impl CountryCode {
    /// The JSON Schema pattern of a country code.
    pub const PATTERN: &'static str = r"^[A-Za-z]{2}$";

    /// Parses untrusted input.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if is_country_code(raw) {
            Ok(Self(raw.to_ascii_uppercase()))
        } else {
            Err(InvalidValue::new(
                "invalid_country_code",
                "must be an ISO 3166-1 alpha-2 country code such as DE",
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A postal address as the partner sales console keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalAddress {
    /// Street lines, 1..=5.
    pub lines: Vec<ShortText>,
    /// City or town.
    pub locality: ShortText,
    /// State, county or province, where the country has them.
    pub region: Option<ShortText>,
    /// Postal code, where the country has them.
    pub postal_code: Option<ShortText>,
    /// Country.
    pub country_code: CountryCode,
}

impl PostalAddress {
    /// Most street lines accepted.
    pub const MAX_LINES: usize = 5;

    /// Parses an address as given, naming refused fields under `prefix` (`prefix.lines[0]`,
    /// `prefix.country_code` …); the API and the import of the old support center both parse
    /// addresses here.
    pub fn parse(
        p: &mut crate::FieldParser,
        prefix: &str,
        given: PostalAddressInput<'_>,
    ) -> Option<Self> {
        if given.lines.is_empty() || given.lines.len() > Self::MAX_LINES {
            p.refuse(
                format!("{prefix}.lines"),
                InvalidValue::new("invalid_length", "must have 1 to 5 lines"),
            );
        }
        let lines: Vec<Option<ShortText>> = given
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| p.field(format!("{prefix}.lines[{i}]"), ShortText::parse(l)))
            .collect();
        let locality = p.field(
            format!("{prefix}.locality"),
            ShortText::parse(given.locality),
        );
        let region = p.optional(format!("{prefix}.region"), given.region, ShortText::parse);
        let postal_code = p.optional(
            format!("{prefix}.postal_code"),
            given.postal_code,
            ShortText::parse,
        );
        let country_code = p.field(
            format!("{prefix}.country_code"),
            CountryCode::parse(given.country_code),
        );
        Some(Self {
            lines: lines.into_iter().collect::<Option<Vec<_>>>()?,
            locality: locality?,
            region,
            postal_code,
            country_code: country_code?,
        })
    }
}

/// A postal address as a client or a file gives it, before parsing.
#[derive(Debug, Clone, Copy)]
pub struct PostalAddressInput<'a> {
    /// Street lines.
    pub lines: &'a [String],
    /// City or town.
    pub locality: &'a str,
    /// State, county or province.
    pub region: Option<&'a str>,
    /// Postal code.
    pub postal_code: Option<&'a str>,
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: &'a str,
}

/// The customer's contact person as the partner sales console keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The person's name.
    pub name: DisplayName,
    /// The person's email address.
    pub email: EmailAddress,
    /// A phone number as written by the partner.
    pub phone: Option<PhoneNumber>,
}

impl Contact {
    /// Parses a contact as given, naming refused fields under `prefix`.
    pub fn parse(
        p: &mut crate::FieldParser,
        prefix: &str,
        name: &str,
        email: &str,
        phone: Option<&str>,
    ) -> Option<Self> {
        let name = p.field(format!("{prefix}.name"), DisplayName::parse(name));
        let email = p.field(format!("{prefix}.email"), EmailAddress::parse(email));
        let phone = p.optional(format!("{prefix}.phone"), phone, PhoneNumber::parse);
        Some(Self {
            name: name?,
            email: email?,
            phone,
        })
    }
}

/// A contact phone number: 6 to 20 digits with the usual separators, an optional leading `+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

matcher!(is_phone_number, PhoneNumber::PATTERN);

impl PhoneNumber {
    /// The JSON Schema pattern of a phone number.
    pub const PATTERN: &'static str = r"^\+?(?:[ ().-]*[0-9]){6,20}[ ().-]*$";
    /// Most characters of a number.
    pub const MAX_CHARS: usize = 40;

    /// Parses untrusted input.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.len() <= Self::MAX_CHARS && is_phone_number(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(
                "invalid_phone_number",
                "must be a phone number such as +49 30 1234567",
            ))
        }
    }

    /// The number as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T, E: fmt::Debug>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("unexpected error {e:?}"))
    }

    #[test]
    fn a_case_title_is_trimmed_and_bounded_to_two_hundred_characters() {
        assert_eq!(
            ok(CaseTitle::parse("  Mail bounces  ")).as_str(),
            "Mail bounces"
        );
        assert!(CaseTitle::parse(&"x".repeat(200)).is_ok());
        assert_eq!(
            CaseTitle::parse(&"x".repeat(201)).map_err(|e| e.code),
            Err("too_long")
        );
        assert_eq!(CaseTitle::parse("   ").map_err(|e| e.code), Err("required"));
    }

    #[test]
    fn a_case_title_counts_characters_not_bytes() {
        assert!(CaseTitle::parse(&"é".repeat(200)).is_ok());
    }

    #[test]
    fn a_case_title_is_a_single_line() {
        assert_eq!(
            CaseTitle::parse("two\nlines").map_err(|e| e.code),
            Err("invalid_characters")
        );
    }

    #[test]
    fn a_comment_is_between_one_and_twelve_thousand_eight_hundred_characters() {
        assert!(CommentBody::parse(&"a".repeat(12_800)).is_ok());
        assert!(CommentBody::parse(&"a".repeat(12_801)).is_err());
        assert!(CommentBody::parse("").is_err());
        assert!(CommentBody::parse("line one\nline two\ttabbed").is_ok());
    }

    #[test]
    fn emails_are_lower_cased_and_know_their_domain() {
        let e = ok(EmailAddress::parse("Jane.Admin@Reseller.Example.COM"));
        assert!(
            EmailAddress::parse(" jane@reseller.example").is_err(),
            "spaces are not trimmed"
        );
        assert_eq!(e.as_str(), "jane.admin@reseller.example.com");
        assert_eq!(e.domain(), "reseller.example.com");
        assert_eq!(e.local_part(), "jane.admin");
        assert!(e.belongs_to(&ok(DomainName::parse("reseller.example.com"))));
        assert!(!e.belongs_to(&ok(DomainName::parse("example.com"))));
    }

    #[test]
    fn malformed_emails_are_refused() {
        for raw in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@@example.com",
            "a@-x.com",
        ] {
            assert!(EmailAddress::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn consumer_mail_addresses_are_recognised() {
        assert!(ok(EmailAddress::parse("someone@gmail.com")).is_consumer());
        assert!(ok(EmailAddress::parse("someone@GoogleMail.com")).is_consumer());
        assert!(!ok(EmailAddress::parse("admin@reseller.example.com")).is_consumer());
    }

    #[test]
    fn domain_names_need_two_labels_and_valid_characters() {
        assert_eq!(
            ok(DomainName::parse("Reseller.Example.com")).as_str(),
            "reseller.example.com"
        );
        assert!(DomainName::parse("example.com.").is_err());
        assert!(DomainName::parse("xn--bcher-kva.example").is_ok());
        for raw in [
            "localhost",
            "",
            "a..b",
            "-a.com",
            "a-.com",
            "under_score.com",
            "10.0.0.1",
            &format!("{}.com", "a".repeat(64)),
        ] {
            assert!(DomainName::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn language_codes_must_be_well_formed_bcp47_tags() {
        for raw in ["en", "en-US", "pt-BR", "zh-Hant-TW", "es-419", "sr-Latn"] {
            assert!(LanguageCode::parse(raw).is_ok(), "{raw:?} was refused");
        }
        for raw in [
            "",
            "english",
            "en_US",
            "e",
            "x-private",
            "en--US",
            "123",
            "de-CH-1996",
            " en",
        ] {
            assert!(LanguageCode::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn every_published_pattern_compiles() {
        for pattern in [
            SINGLE_LINE_PATTERN,
            MULTI_LINE_PATTERN,
            EmailAddress::PATTERN,
            DomainName::PATTERN,
            LanguageCode::PATTERN,
            OrgUnitPath::PATTERN,
            CountryCode::PATTERN,
            PhoneNumber::PATTERN,
        ] {
            assert!(regex::Regex::new(pattern).is_ok(), "{pattern}");
        }
    }

    #[test]
    fn names_and_titles_refuse_bidi_controls_and_zero_width_characters() {
        for c in [
            '\u{061C}', '\u{180E}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}',
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2060}', '\u{2064}',
            '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{FEFF}',
        ] {
            let text = format!("invoice{c}gpj.exe");
            for refused in [
                CaseTitle::parse(&text).err(),
                DisplayName::parse(&text).err(),
                RoleName::parse(&text).err(),
                ShortText::parse(&text).err(),
            ] {
                assert_eq!(refused.map(|e| e.code), Some("invalid_characters"), "{c:?}");
            }
            assert!(Description::parse(&text).is_ok(), "{c:?}");
        }
        assert!(DisplayName::parse("Zoë Ångström-Łukasiewicz").is_ok());
        assert!(CaseTitle::parse("عربي עברית 日本語 🚀").is_ok());
    }

    #[test]
    fn free_text_is_accepted_exactly_when_its_published_pattern_matches() {
        let single = regex::Regex::new(SINGLE_LINE_PATTERN).unwrap_or_else(|e| panic!("{e}"));
        let multi = regex::Regex::new(MULTI_LINE_PATTERN).unwrap_or_else(|e| panic!("{e}"));
        let samples = [
            "plain",
            " padded ",
            "",
            "   ",
            "\t",
            "line\nbreak",
            "nul\u{0}",
            "\u{a0}",
            "\u{3000}x",
            "x\u{85}",
            "tab\there",
            "\u{200b}",
            "\u{feff}",
            "invoice\u{202e}gpj.exe",
            "ad\u{200d}min",
            "\u{2066}isolated\u{2069}",
            "\u{61c}x",
            "x\u{200f}",
            "x\u{2028}y",
            "\u{2060}",
            "عربي עברית",
            "é",
            "\r\n",
            "a\u{7f}",
            "\u{2028}",
        ];
        for text in samples {
            assert_eq!(
                CaseTitle::parse(text).is_ok(),
                single.is_match(text),
                "single line {text:?}"
            );
            assert_eq!(
                Description::parse(text).is_ok(),
                multi.is_match(text),
                "multi line {text:?}"
            );
        }
    }

    #[test]
    fn time_zones_must_be_known_iana_zones() {
        assert_eq!(
            ok(TimeZone::parse("Europe/Berlin")).as_str(),
            "Europe/Berlin"
        );
        assert!(TimeZone::parse("America/Argentina/Buenos_Aires").is_ok());
        assert!(TimeZone::parse("UTC").is_ok());
        for raw in [
            "",
            "Mars/Olympus_Mons",
            "Europe/Berlinn",
            "/etc/passwd",
            "../../etc/passwd",
            "EST5EDT,M3.2.0,M11.1.0",
        ] {
            assert!(TimeZone::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn severities_parse_from_their_wire_names_only() {
        assert_eq!("P1".parse::<Severity>().ok(), Some(Severity::P1));
        assert_eq!("P4".parse::<Severity>().ok(), Some(Severity::P4));
        assert!("p1".parse::<Severity>().is_err());
        assert!("P5".parse::<Severity>().is_err());
        for s in Severity::ALL {
            assert_eq!(Severity::from_rank(s.rank()), Some(s));
            assert!(!s.meaning().is_empty());
        }
    }

    #[test]
    fn product_type_is_google_workspace() {
        assert_eq!(
            "google_workspace".parse::<ProductType>().ok(),
            Some(ProductType::GoogleWorkspace)
        );
        assert!("gmail".parse::<ProductType>().is_err());
    }

    #[test]
    fn passwords_need_twelve_characters_and_must_not_contain_the_email() {
        let email = ok(EmailAddress::parse("jane.admin@reseller.example.com"));
        assert!(Password::parse("correct horse battery", &email).is_ok());
        assert_eq!(
            Password::parse("short", &email).map_err(|e| e.code),
            Err("password_too_short")
        );
        assert_eq!(
            Password::parse("xxJane.Admin2024!!", &email).map_err(|e| e.code),
            Err("password_contains_email")
        );
        assert_eq!(
            Password::parse("aaaaaaaaaaaaaaaa", &email).map_err(|e| e.code),
            Err("password_too_simple")
        );
        assert!(Password::parse(&"ab1!".repeat(33), &email).is_err());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let email = ok(EmailAddress::parse("a@example.com"));
        let p = ok(Password::parse("correct horse battery", &email));
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn org_units_are_absolute_paths() {
        assert!(OrgUnitPath::parse("/").is_ok());
        assert!(OrgUnitPath::parse("/Sales/EMEA").is_ok());
        assert!(OrgUnitPath::parse("Sales").is_err());
        assert!(OrgUnitPath::parse("/Sales//EMEA").is_err());
    }

    #[test]
    fn country_codes_are_two_letters() {
        assert_eq!(ok(CountryCode::parse("de")).as_str(), "DE");
        assert!(CountryCode::parse("DEU").is_err());
        assert!(CountryCode::parse("1A").is_err());
    }

    #[test]
    fn phone_numbers_allow_usual_separators() {
        assert!(PhoneNumber::parse("+49 (30) 123-4567").is_ok());
        assert!(PhoneNumber::parse("12").is_err());
        assert!(PhoneNumber::parse("call me").is_err());
        assert!(PhoneNumber::parse("12+345678").is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn single_line_text_parses_exactly_when_the_published_pattern_matches(text in "[\\x00-\\x{a0}\\x{2000}-\\x{3000}a-zé]{0,6}") {
            let re = regex::Regex::new(SINGLE_LINE_PATTERN).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(CaseTitle::parse(&text).is_ok(), re.is_match(&text));
        }

        #[test]
        fn multi_line_text_parses_exactly_when_the_published_pattern_matches(text in "[\\x00-\\x{a0}\\x{2000}-\\x{3000}a-z]{0,6}") {
            let re = regex::Regex::new(MULTI_LINE_PATTERN).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(Description::parse(&text).is_ok(), re.is_match(&text));
        }
    }
}
