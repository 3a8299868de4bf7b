//! Creating a domain with its first super admin: shared by `POST /v1/provider/domains` and
//! `casebridge bootstrap`.

use actix_web::web;
use casebridge_domain::access::{check_email_in_domain, check_super_admin_email};
use casebridge_domain::{
    BuiltInRole, DisplayName, DomainId, DomainName, EmailAddress, Password, Realm, RoleRef, UserId,
};
use casebridge_persistence::repo::identity::{self, DomainRecord, NewUser, UserRecord};
use casebridge_persistence::{Database, PersistenceError};
use time::OffsetDateTime;

use crate::auth::password;
use crate::problem::{ApiError, ErrorCode};

/// What a new domain and its super admin need, parsed.
#[derive(Debug)]
pub struct NewDomain {
    /// The domain's name.
    pub name: DomainName,
    /// Its realm.
    pub realm: Realm,
    /// Its first super admin's email (an address of the domain).
    pub admin_email: EmailAddress,
    /// Its first super admin's name.
    pub admin_name: DisplayName,
    /// Its first super admin's password; a one-time password is generated when absent.
    pub admin_password: Option<Password>,
}

/// A domain just created.
#[derive(Debug)]
pub struct CreatedDomain {
    /// The domain.
    pub domain: DomainRecord,
    /// Its super admin.
    pub admin: UserRecord,
    /// The generated one-time password, when none was given.
    pub one_time_password: Option<String>,
}

/// Creates the domain and its super admin in one transaction.
pub async fn create_domain(
    db: &Database,
    new: NewDomain,
    now: OffsetDateTime,
) -> Result<CreatedDomain, ApiError> {
    check_super_admin_email(&new.admin_email)?;
    check_email_in_domain(&new.admin_email, &new.name)?;
    let one_time = new
        .admin_password
        .is_none()
        .then(password::one_time_password);
    let secret = new
        .admin_password
        .as_ref()
        .map(|p| p.expose().to_owned())
        .or_else(|| one_time.clone())
        .unwrap_or_default();
    let hash = web::block(move || password::hash(&secret))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let tx = db.begin().await?;
    let domain = identity::insert_domain(&tx, DomainId::generate(), &new.name, new.realm, now)
        .await
        .map_err(|e| match e {
            PersistenceError::Conflict(_) => ApiError::new(
                ErrorCode::DomainExists,
                "A domain with this name already exists.",
            ),
            other => other.into(),
        })?;
    let admin = identity::insert_user(
        &tx,
        &NewUser {
            id: UserId::generate(),
            domain_id: domain.id,
            email: new.admin_email,
            display_name: new.admin_name,
            password_hash: hash,
            must_change_password: one_time.is_some(),
            org_unit: None,
            notification_email: None,
        },
        now,
    )
    .await?;
    identity::replace_roles(&tx, admin.id, &[RoleRef::BuiltIn(BuiltInRole::SuperAdmin)]).await?;
    tx.commit().await.map_err(PersistenceError::from)?;
    Ok(CreatedDomain {
        domain,
        admin,
        one_time_password: one_time,
    })
}

/// Why bootstrapping refused.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// A provider domain exists already.
    #[error("a provider domain exists already; create more domains with POST /v1/provider/domains")]
    AlreadyBootstrapped,
    /// An argument is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// Which argument.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The domain could not be created.
    #[error("{0}")]
    Failed(String),
}

/// Creates the first provider domain and its super admin.
pub async fn bootstrap(
    db: &Database,
    domain: &str,
    email: &str,
    password: Option<&str>,
    display_name: &str,
) -> Result<CreatedDomain, BootstrapError> {
    let invalid = |field: &'static str| {
        move |e: casebridge_domain::InvalidValue| BootstrapError::Invalid {
            field,
            message: e.message,
        }
    };
    let name = DomainName::parse(domain).map_err(invalid("--domain"))?;
    let admin_email = EmailAddress::parse(email).map_err(invalid("--email"))?;
    let admin_name = DisplayName::parse(display_name).map_err(invalid("--display-name"))?;
    let admin_password = password
        .map(|p| Password::parse(p, &admin_email))
        .transpose()
        .map_err(invalid("--password"))?;
    if identity::realm_has_domains(db.reader(), Realm::Provider)
        .await
        .map_err(|e| BootstrapError::Failed(e.to_string()))?
    {
        return Err(BootstrapError::AlreadyBootstrapped);
    }
    create_domain(
        db,
        NewDomain {
            name,
            realm: Realm::Provider,
            admin_email,
            admin_name,
            admin_password,
        },
        OffsetDateTime::now_utc(),
    )
    .await
    .map_err(|e| BootstrapError::Failed(e.to_string()))
}
