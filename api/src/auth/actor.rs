//! The `Actor` extractor: the authenticated user, its domain and what it may do.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, web};
use casebridge_domain::{
    Access, Capability, DomainId, DomainName, EmailAddress, HeldRole, Realm, UserId, Viewer,
};
use casebridge_persistence::repo::identity::{self, AuthRecord};
use casebridge_persistence::{Backend, Database, PersistenceError};
use futures_util::future::LocalBoxFuture;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::problem::ApiError;
use crate::state::AppState;

/// How long a user's authentication state is reused before it is read again. Changes made
/// through this instance take effect at once (the entry is dropped). On PostgreSQL, where
/// other instances may make changes, what revokes a token (its logout, the user's token
/// version and suspension) is read on every request besides, so no instance serves a revoked
/// token once the change has answered.
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(2);

/// Users' authentication state, cached so that a request does not pay a database round trip
/// for it.
#[derive(Debug)]
pub struct AuthCache {
    ttl: Duration,
    entries: RwLock<HashMap<UserId, (Instant, Arc<AuthRecord>)>>,
    /// Moves on every invalidation: a record loaded while one happened may predate the change,
    /// and is used for its request but not kept.
    generation: std::sync::atomic::AtomicU64,
}

impl AuthCache {
    /// An empty cache.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The user's state, from the cache or the database.
    pub async fn get(
        &self,
        db: &Database,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<AuthRecord>>, PersistenceError> {
        if let Ok(entries) = self.entries.read()
            && let Some((at, record)) = entries.get(&user)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(record.clone()));
        }
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        let Some(record) = identity::load_auth(db.reader(), user, now).await? else {
            self.invalidate(user);
            return Ok(None);
        };
        let record = Arc::new(record);
        // Checked under the write lock: an invalidation moves the generation before it takes
        // the lock to remove, so it either stops this insert or removes what it inserted.
        if let Ok(mut entries) = self.entries.write()
            && self.generation.load(std::sync::atomic::Ordering::SeqCst) == generation
        {
            if entries.len() > 50_000 {
                let ttl = self.ttl;
                entries.retain(|_, (at, _)| at.elapsed() < ttl);
            }
            entries.insert(user, (Instant::now(), record.clone()));
        }
        Ok(Some(record))
    }

    /// Forgets a user's state (after a change to it).
    pub fn invalidate(&self, user: UserId) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(&user);
        }
    }

    /// Forgets these users' state.
    pub fn invalidate_many(&self, users: &[UserId]) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut entries) = self.entries.write() {
            for u in users {
                entries.remove(u);
            }
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user.
    pub user_id: UserId,
    /// Its email.
    pub email: EmailAddress,
    /// Its display name.
    pub display_name: String,
    /// Where its case mail goes instead of `email`.
    pub notification_email: Option<EmailAddress>,
    /// Its domain.
    pub domain_id: DomainId,
    /// The domain's name.
    pub domain: DomainName,
    /// The domain's realm.
    pub realm: Realm,
    /// Roles and privileges, as the rules see them.
    pub access: Access,
    /// The roles held, with their names.
    pub roles: Vec<(HeldRole, String)>,
    /// The presented token's id.
    pub jti: Uuid,
    /// When the presented token expires.
    pub token_expires_at: OffsetDateTime,
}

impl Actor {
    /// Refuses the request unless the actor has the capability.
    pub fn require(&self, capability: Capability) -> Result<(), ApiError> {
        self.access
            .require_capability(capability)
            .map_err(ApiError::from)
    }

    /// The actor as the audit trail records it.
    pub fn audit(&self) -> casebridge_persistence::repo::audit::AuditActor {
        casebridge_persistence::repo::audit::AuditActor {
            user_id: Some(self.user_id),
            email: Some(self.email.to_string()),
            domain_id: Some(self.domain_id),
        }
    }

    /// Who the actor is, as the visibility rule sees it.
    pub fn viewer(&self) -> Viewer {
        Viewer::of(self.realm, self.domain_id)
    }
}

/// The token of the request's `Authorization: Bearer` header. Read as UTF-8 rather than
/// through `HeaderValue::to_str`, which checks a token's hundreds of bytes one at a time for
/// visible ASCII (2.6% of a `GET /v1/cases/{id}`'s instructions on SQLite): a token that is
/// not ASCII fails its signature check all the same.
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = std::str::from_utf8(req.headers().get(header::AUTHORIZATION)?.as_bytes()).ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The outcome of authenticating a request's token, reached before its handler's extractors
/// run: the actor, or, on a route whose handler carries the token's standing in its own read
/// ([`CARRYING_ROUTES`]), the token's claims checked against everything but that standing.
enum Authenticated {
    Done(Result<Actor, ApiError>),
    Claimed(Result<Claimed, ApiError>),
}

/// The routes whose handlers read the token's standing in their own statement on PostgreSQL,
/// through [`Carrying`]: for them the middleware leaves the standing unread. A handler of such
/// a route that takes [`Actor`] or [`Authorized`] instead still gets it checked, by the
/// extractor, in a statement of its own.
const CARRYING_ROUTES: &[(&str, &str)] = &[("GET", "/v1/cases/{case_id}"), ("GET", "/v1/cases")];

fn carries_standing(req: &ServiceRequest) -> bool {
    // Compiled once: a pattern compiles to a regex, which costs more than the round trip
    // saved.
    static ROUTES: std::sync::LazyLock<Vec<(&str, actix_web::dev::ResourceDef)>> =
        std::sync::LazyLock::new(|| {
            CARRYING_ROUTES
                .iter()
                .map(|(method, path)| (*method, actix_web::dev::ResourceDef::new(*path)))
                .collect()
        });
    ROUTES
        .iter()
        .any(|(method, route)| req.method().as_str() == *method && route.is_match(req.path()))
}

/// Middleware: authenticates a request that carries a bearer token before anything else of
/// the request is read. Extractors of one handler run side by side, and authentication may
/// wait on the database; done here, a refused token is what the caller hears, never a
/// complaint about a body the caller had no right to send. On a route of [`CARRYING_ROUTES`]
/// the standing is left to the handler's read (it is a `GET`: there is no body).
pub async fn authenticate_first(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>();
    if let (Some(token), Some(state)) = (bearer_token(req.request()), state) {
        let outcome = if carries_standing(&req) {
            Authenticated::Claimed(claim(state, token).await)
        } else {
            Authenticated::Done(authenticate(state, token).await)
        };
        req.extensions_mut().insert(outcome);
    }
    next.call(req).await
}

impl FromRequest for Actor {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = carried_token(req);
        Box::pin(async move {
            match token.await? {
                // Safe by default: a handler that does not carry the standing has it checked.
                (CarriedToken::Claimed(claimed), state) => claimed.stand(&state).await,
                (CarriedToken::Stood(actor), _) => Ok(actor),
            }
        })
    }
}

/// The request's token as the middleware left it (claimed, or already standing), or claimed
/// here when the middleware did not run; with the application state.
fn carried_token(
    req: &HttpRequest,
) -> LocalBoxFuture<'static, Result<(CarriedToken, web::Data<AppState>), ApiError>> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let outcome = req.extensions_mut().remove::<Authenticated>();
    // The header read again only where the middleware did not read it.
    let token = outcome
        .is_none()
        .then(|| bearer_token(req).map(str::to_owned))
        .flatten();
    Box::pin(async move {
        let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
        let token = match outcome {
            Some(Authenticated::Claimed(claimed)) => CarriedToken::Claimed(claimed?),
            Some(Authenticated::Done(actor)) => CarriedToken::Stood(actor?),
            None => {
                let token = token.ok_or_else(|| {
                    ApiError::unauthenticated("Send a token as Authorization: Bearer <token>.")
                })?;
                CarriedToken::Claimed(claim(&state, &token).await?)
            }
        };
        Ok((token, state))
    })
}

fn refused(reason: &str) -> ApiError {
    tracing::info!(reason, "token refused");
    ApiError::unauthenticated("The access token is missing, invalid, expired or revoked.")
}

/// Checks a token and the state of its user.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Actor, ApiError> {
    claim(state, token).await?.stand(state).await
}

/// A token whose signature, claims and cached user state were checked, but not yet (on
/// PostgreSQL) its standing: whether it was signed out, or its user suspended or its token
/// version moved, through another instance. Only [`Claimed::stand`] and [`Claimed::admit`]
/// make an [`Actor`] of it.
#[derive(Debug, Clone)]
pub struct Claimed {
    claims: crate::auth::jwt::Claims,
    user_id: UserId,
    jti: Uuid,
    record: Arc<AuthRecord>,
    now: OffsetDateTime,
}

/// Checks a token against everything but its standing (see [`Claimed`]).
async fn claim(state: &AppState, token: &str) -> Result<Claimed, ApiError> {
    let now = state.clock.now();
    let claims = state.tokens.verify(token, now)?;
    let user_id: UserId = claims.sub.parse().map_err(|_| refused("bad subject"))?;
    let jti = Uuid::parse_str(&claims.jti).map_err(|_| refused("bad token id"))?;
    let record = state
        .auth_cache
        .get(&state.db, user_id, now)
        .await?
        .ok_or_else(|| refused("user no longer exists"))?;
    Ok(Claimed {
        claims,
        user_id,
        jti,
        record,
        now,
    })
}

impl Claimed {
    /// What a read carries to answer the standing in its own statement: on PostgreSQL, where
    /// several instances may share the database; `None` on SQLite, where the cached state is
    /// the whole truth.
    pub fn probe(&self, state: &AppState) -> Option<identity::StandingProbe> {
        (state.db.backend() == Backend::Postgres).then_some(identity::StandingProbe {
            user: self.user_id,
            jti: self.jti,
        })
    }

    /// Who the token speaks for, as the visibility rule sees it: a user's domain and realm
    /// never change, so this holds whatever the standing.
    pub fn viewer(&self) -> Viewer {
        Viewer::of(self.record.domain.realm, self.record.domain.id)
    }

    /// The actor, its standing read in a statement of its own (PostgreSQL).
    pub async fn stand(self, state: &AppState) -> Result<Actor, ApiError> {
        if state.db.backend() != Backend::Postgres {
            return self.admitted(self.record.clone());
        }
        let standing = identity::token_standing(state.db.reader(), self.user_id, self.jti).await?;
        self.settle(state, standing).await
    }

    /// The actor, on the standing a read carried; when it carried none ([`Standing::NotRead`]),
    /// read in a statement of its own, as [`Claimed::stand`].
    ///
    /// [`Standing::NotRead`]: identity::Standing::NotRead
    pub async fn admit(
        self,
        state: &AppState,
        standing: identity::Standing,
    ) -> Result<Actor, ApiError> {
        match standing {
            identity::Standing::Read(_) if state.db.backend() != Backend::Postgres => {
                self.admitted(self.record.clone())
            }
            identity::Standing::Read(standing) => self.settle(state, standing).await,
            identity::Standing::NotRead => self.stand(state).await,
        }
    }

    /// The actor on PostgreSQL, given the token's standing (`None`: the user is gone).
    async fn settle(
        self,
        state: &AppState,
        standing: Option<identity::TokenStanding>,
    ) -> Result<Actor, ApiError> {
        // Several instances may share this database, and a logout, suspension or role change
        // may have gone through another one: what revokes a token is read on every request
        // (one indexed statement, or a part of the request's own read); the rest of the cached
        // state is reloaded when it moved.
        let standing = standing.ok_or_else(|| refused("user no longer exists"))?;
        if standing.revoked {
            return Err(refused("token revoked"));
        }
        let mut record = self.record.clone();
        if standing.token_version != record.user.token_version
            || standing.suspended != record.user.suspended
        {
            state.auth_cache.invalidate(self.user_id);
            record = state
                .auth_cache
                .get(&state.db, self.user_id, self.now)
                .await?
                .ok_or_else(|| refused("user no longer exists"))?;
        }
        self.admitted(record)
    }

    /// The actor, when the token holds against `record`.
    fn admitted(&self, record: Arc<AuthRecord>) -> Result<Actor, ApiError> {
        let (claims, jti) = (&self.claims, self.jti);
        if record.domain.name.as_str() != claims.aud {
            return Err(refused("audience is not the user's domain"));
        }
        if record.domain.realm.as_str() != claims.realm {
            return Err(refused("realm does not match"));
        }
        if record.user.suspended {
            return Err(refused("user suspended"));
        }
        if record.user.token_version != claims.ver {
            return Err(refused("token version superseded"));
        }
        if record.revoked.contains(&jti) {
            return Err(refused("token revoked"));
        }
        let held: Vec<HeldRole> = record.roles.iter().map(|r| r.held.clone()).collect();
        Ok(Actor {
            user_id: self.user_id,
            email: record.user.email.clone(),
            display_name: record.user.display_name.clone(),
            notification_email: record.user.notification_email.clone(),
            domain_id: record.domain.id,
            domain: record.domain.name.clone(),
            realm: record.domain.realm,
            access: Access::derive(record.domain.realm, &held)
                .with_password_change_required(record.user.must_change_password),
            roles: record
                .roles
                .iter()
                .map(|r| (r.held.clone(), r.name.clone()))
                .collect(),
            jti,
            token_expires_at: OffsetDateTime::from_unix_timestamp(claims.exp)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        })
    }
}

/// Capabilities as types, so that a handler states what it needs in its signature and the
/// check runs before the request body is even read.
pub mod capability {
    use casebridge_domain::Capability;

    /// A capability an endpoint requires.
    pub trait Requirement {
        /// The capability.
        const CAPABILITY: Capability;
    }

    macro_rules! requirements {
        ($($name:ident),+ $(,)?) => {
            $(
                #[doc = concat!("Requires [`Capability::", stringify!($name), "`].")]
                #[derive(Debug, Clone, Copy)]
                pub struct $name;

                impl Requirement for $name {
                    const CAPABILITY: Capability = Capability::$name;
                }
            )+
        };
    }

    requirements!(
        SignedIn,
        ViewCustomers,
        WorkCustomerCases,
        WorkOwnCases,
        WorkCases,
        ManageCustomerRelationships,
        AdministerDomain,
        SupportCases,
        Provision,
    );
}

/// An actor that has the capability `R`.
#[derive(Debug, Clone)]
pub struct Authorized<R>(pub Actor, std::marker::PhantomData<R>);

impl<R> std::ops::Deref for Authorized<R> {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.0
    }
}

impl<R: capability::Requirement + 'static> FromRequest for Authorized<R> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let actor = Actor::from_request(req, payload);
        Box::pin(async move {
            let actor = actor.await?;
            actor.require(R::CAPABILITY)?;
            Ok(Authorized(actor, std::marker::PhantomData))
        })
    }
}

/// An actor with the capability `R`, whose token's standing the handler's own read carries on
/// PostgreSQL (the route is one of [`CARRYING_ROUTES`]): one round trip instead of two. The
/// handler reads as [`Carrying::viewer`], with [`Carrying::probe`], and then
/// [`Carrying::admit`]s on the standing its read found, before it answers anything, errors
/// included (a refused token is what the caller hears). Only `admit` and `stand` give the
/// [`Authorized`] actor.
#[derive(Debug)]
pub struct Carrying<R> {
    token: CarriedToken,
    requirement: std::marker::PhantomData<R>,
}

#[derive(Debug)]
enum CarriedToken {
    /// The standing is still to read.
    Claimed(Claimed),
    /// Already checked (the route carries no standing).
    Stood(Actor),
}

impl<R: capability::Requirement> Carrying<R> {
    /// Who reads, as the visibility rule sees it.
    pub fn viewer(&self) -> Viewer {
        match &self.token {
            CarriedToken::Claimed(claimed) => claimed.viewer(),
            CarriedToken::Stood(actor) => actor.viewer(),
        }
    }

    /// What the read carries to answer the token's standing; `None` when it need not.
    pub fn probe(&self, state: &AppState) -> Option<identity::StandingProbe> {
        match &self.token {
            CarriedToken::Claimed(claimed) => claimed.probe(state),
            CarriedToken::Stood(_) => None,
        }
    }

    /// The actor, on the standing the read found (read now if it found none), when it has
    /// the capability `R`.
    pub async fn admit(
        self,
        state: &AppState,
        standing: identity::Standing,
    ) -> Result<Authorized<R>, ApiError> {
        let actor = match self.token {
            CarriedToken::Claimed(claimed) => claimed.admit(state, standing).await?,
            CarriedToken::Stood(actor) => actor,
        };
        actor.require(R::CAPABILITY)?;
        Ok(Authorized(actor, std::marker::PhantomData))
    }

    /// The actor, its standing read in a statement of its own: for a request the handler
    /// answers without reading.
    pub async fn stand(self, state: &AppState) -> Result<Authorized<R>, ApiError> {
        self.admit(state, identity::Standing::NotRead).await
    }
}

impl<R: capability::Requirement + 'static> FromRequest for Carrying<R> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = carried_token(req);
        Box::pin(async move {
            Ok(Carrying {
                token: token.await?.0,
                requirement: std::marker::PhantomData,
            })
        })
    }
}
