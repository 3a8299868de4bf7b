//! Typed helpers: the provider bootstrapped, domains created, users signed in.

use casebridge_persistence::{Database, PoolSettings};
use serde_json::{Value, json};

use crate::TestApp;

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery staple";

/// The provider domain of every test world.
pub const PROVIDER_DOMAIN: &str = "support.casebridge.test";

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    /// The bearer token.
    pub token: String,
    /// The user's id.
    pub user_id: String,
    /// The user's email.
    pub email: String,
    /// The domain signed in to.
    pub domain: String,
}

impl TestApp {
    /// Bootstraps the provider domain (as `casebridge bootstrap` does) and signs its super
    /// admin in.
    pub async fn provider_admin(&self) -> Session {
        let email = format!("admin@{PROVIDER_DOMAIN}");
        let db = Database::connect(&self.settings.database_url, &PoolSettings::default())
            .await
            .expect("the test database");
        let result = casebridge_api::provisioning::bootstrap(
            &db,
            PROVIDER_DOMAIN,
            &email,
            Some(PASSWORD),
            "Provider admin",
        )
        .await;
        db.close().await;
        match result {
            Ok(_) | Err(casebridge_api::provisioning::BootstrapError::AlreadyBootstrapped) => {}
            Err(e) => panic!("bootstrap failed: {e}"),
        }
        self.sign_in(PROVIDER_DOMAIN, &email, PASSWORD).await
    }

    /// Signs in, asserting success.
    pub async fn sign_in(&self, domain: &str, email: &str, password: &str) -> Session {
        let res = self.try_sign_in(domain, email, password).await;
        res.assert_status(200);
        let token = res.body["access_token"]
            .as_str()
            .expect("a token")
            .to_owned();
        let me = self.api.get("/v1/me").token(&token).send().await;
        me.assert_status(200);
        Session {
            token,
            user_id: me.body["user"]["id"].as_str().expect("an id").to_owned(),
            email: email.to_owned(),
            domain: domain.to_owned(),
        }
    }

    /// Tries to sign in.
    pub async fn try_sign_in(&self, domain: &str, email: &str, password: &str) -> crate::Response {
        self.api
            .post("/v1/auth/token")
            .json(&json!({"domain": domain, "email": email, "password": password}))
            .send()
            .await
    }

    /// Creates a domain of a realm through the provider and signs its super admin in.
    pub async fn domain_admin(&self, provider: &Session, name: &str, realm: &str) -> Session {
        let email = format!("admin@{name}");
        self.api
            .post("/v1/provider/domains")
            .token(&provider.token)
            .json(&json!({
                "name": name,
                "realm": realm,
                "super_admin": {"email": email, "display_name": "Domain admin", "password": PASSWORD}
            }))
            .send()
            .await
            .assert_status(201);
        self.sign_in(name, &email, PASSWORD).await
    }

    /// Creates a user in the admin's domain with these roles, and signs it in.
    pub async fn user_with_roles(&self, admin: &Session, local: &str, roles: &[&str]) -> Session {
        let email = format!("{local}@{}", admin.domain);
        let created = self
            .api
            .post("/v1/admin/users")
            .token(&admin.token)
            .json(&json!({"email": email, "display_name": local, "password": PASSWORD}))
            .send()
            .await;
        created.assert_status(201);
        let id = created.body["id"].as_str().expect("an id").to_owned();
        if !roles.is_empty() {
            self.api
                .put(&format!("/v1/admin/users/{id}/roles"))
                .token(&admin.token)
                .json(&json!({ "roles": roles }))
                .send()
                .await
                .assert_status(200);
        }
        self.sign_in(&admin.domain, &email, PASSWORD).await
    }

    /// Creates a custom role in the admin's domain; returns its id.
    pub async fn custom_role(&self, admin: &Session, name: &str, privileges: &[&str]) -> String {
        let res = self
            .api
            .post("/v1/admin/roles")
            .token(&admin.token)
            .json(&json!({"name": name, "privileges": privileges}))
            .send()
            .await;
        res.assert_status(201);
        res.body["id"].as_str().expect("an id").to_owned()
    }

    /// `GET path` with a token.
    pub async fn get_as(&self, who: &Session, path: &str) -> crate::Response {
        self.api.get(path).token(&who.token).send().await
    }

    /// `POST path` with a token and a JSON body.
    pub async fn post_as(&self, who: &Session, path: &str, body: Value) -> crate::Response {
        self.api
            .post(path)
            .token(&who.token)
            .json(&body)
            .send()
            .await
    }
}
