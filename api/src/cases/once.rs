//! Creating something once. A create that honours `Idempotency-Key` runs in one write
//! transaction, in this order: the key held (a concurrent request with it waits), the caller's
//! right to act checked, a stored answer replayed, the thing created, its answer stored.
//! Filing a case, commenting and attaching a file all go through [`create_once`].

use actix_web::HttpResponse;
use actix_web::http::header;
use casebridge_persistence::WriteTransaction;
use casebridge_persistence::repo::idempotency::StoredResponse;
use serde::Serialize;
use time::OffsetDateTime;

use crate::auth::Actor;
use crate::conditions::Idempotency;
use crate::problem::ApiError;
use crate::retry::retrying;
use crate::state::AppState;

/// What a create answers: `201 Created` with the new thing's `Location`, its `ETag` when it
/// has one, and its JSON representation.
#[derive(Debug)]
pub struct Created {
    location: String,
    etag: Option<String>,
    body: String,
    mailed: bool,
}

impl Created {
    /// The answer for the thing at `location`, represented by `view`.
    pub fn new(location: String, view: &impl Serialize) -> Result<Self, ApiError> {
        Ok(Self {
            location,
            etag: None,
            body: serde_json::to_string(view).map_err(ApiError::internal)?,
            mailed: false,
        })
    }

    /// With the new thing's `ETag`.
    pub fn with_etag(self, etag: String) -> Self {
        Self {
            etag: Some(etag),
            ..self
        }
    }

    /// Marks that the create queued mail, so the mail worker is woken once it commits.
    pub fn with_mail(self, mailed: bool) -> Self {
        Self { mailed, ..self }
    }

    fn headers(&self) -> Vec<(String, String)> {
        std::iter::once(("location".to_owned(), self.location.clone()))
            .chain(self.etag.iter().map(|e| ("etag".to_owned(), e.clone())))
            .collect()
    }

    fn stored(&self) -> StoredResponse {
        StoredResponse {
            status: 201,
            body: self.body.clone(),
            headers: self.headers(),
        }
    }

    fn response(self) -> HttpResponse {
        let mut res = HttpResponse::Created();
        res.insert_header((header::LOCATION, self.location));
        if let Some(etag) = self.etag {
            res.insert_header((header::ETAG, etag));
        }
        res.content_type("application/json").body(self.body)
    }
}

/// A create's answer, and whether this request made it (`false`: an earlier request with the
/// same idempotency key did, and its answer was replayed).
#[derive(Debug)]
pub struct Outcome {
    /// The answer.
    pub response: HttpResponse,
    /// Whether this request created the thing.
    pub created: bool,
}

/// Runs a create once per idempotency key: `admit` decides, inside the transaction, whether
/// the caller may act (so a replay never outlives the access that made the original) and
/// hands what it read to `create`, which writes and returns the answer. The whole transaction
/// runs again when the database aborted it to resolve contention. `T` is the kind of
/// transaction: sea-orm's, or `casebridge_persistence::Write` for creates written against
/// `Writes` alone (on SQLite, without a hand-off between threads per statement).
pub async fn create_once<T: WriteTransaction, S>(
    state: &AppState,
    actor: &Actor,
    key: Option<&Idempotency>,
    now: OffsetDateTime,
    admit: impl AsyncFn(&T) -> Result<S, ApiError>,
    create: impl AsyncFn(&T, S) -> Result<Created, ApiError>,
) -> Result<Outcome, ApiError> {
    let (admit, create) = (&admit, &create);
    let outcome = retrying(|| async move {
        let tx = T::begin(&state.db).await?;
        let decided = async {
            if let Some(key) = key {
                key.hold(&tx, actor).await?;
            }
            let admitted = admit(&tx).await?;
            if let Some(key) = key
                && let Some(replay) = key.stored(&tx, actor, now).await?
            {
                return Ok((replay, false, false));
            }
            let created = create(&tx, admitted).await?;
            if let Some(key) = key {
                key.store(&tx, actor, &created.stored(), now).await?;
            }
            let mailed = created.mailed;
            Ok::<_, ApiError>((created.response(), true, mailed))
        }
        .await;
        // Every answer, a replay and a refusal too, waits for the transaction's end: on
        // SQLite it may have read writes of its batch that are not committed yet
        // (casebridge_persistence::write).
        match decided {
            Ok(answer) => {
                tx.commit().await?;
                Ok(answer)
            }
            Err(err) => {
                // The refusal is the answer, whatever the rollback met.
                let _ = tx.rollback().await;
                Err(err)
            }
        }
    })
    .await?;
    let (response, created, mailed) = outcome;
    if mailed {
        state.mail_wake.notify_one();
    }
    Ok(Outcome { response, created })
}
