//! Typed helpers: the provider bootstrapped, domains created, users signed in.

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
        let result = casebridge_api::provisioning::bootstrap(
            &self.db,
            PROVIDER_DOMAIN,
            &email,
            Some(PASSWORD),
            "Provider admin",
        )
        .await;
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

    /// `PATCH path` with a token and a JSON body.
    pub async fn patch_as(&self, who: &Session, path: &str, body: Value) -> crate::Response {
        self.api
            .patch(path)
            .token(&who.token)
            .json(&body)
            .send()
            .await
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

/// A small world: the provider, two reseller domains, a support-partner domain, and a premium
/// customer of the first reseller that has authorised it.
#[derive(Debug, Clone)]
pub struct World {
    /// The provider's super admin.
    pub provider: Session,
    /// Super admin of `reseller.example`.
    pub reseller: Session,
    /// Super admin of `other-reseller.example`.
    pub other_reseller: Session,
    /// Super admin of `helpdesk.example`, a reseller domain that can become a support partner.
    pub partner: Session,
    /// Super admin of `acme.example`, the customer's own domain.
    pub customer_admin: Session,
    /// The customer's id.
    pub customer_id: String,
}

impl TestApp {
    /// Records a customer through the provider; returns its id.
    pub async fn create_customer(
        &self,
        provider: &Session,
        name: &str,
        domain: &str,
        reseller_domain: &str,
        tier: &str,
    ) -> String {
        let res = self
            .post_as(
                provider,
                "/v1/provider/customers",
                json!({
                    "name": name,
                    "domain": domain,
                    "reseller_domain": reseller_domain,
                    "support_tier": tier,
                    "postal_address": {
                        "lines": ["1 Main Street"],
                        "locality": "Springfield",
                        "region": "IL",
                        "postal_code": "62701",
                        "country_code": "US"
                    },
                    "contact": {"name": "Chris Contact", "email": format!("it@{domain}"), "phone": "+1 217 555 0100"}
                }),
            )
            .await;
        res.assert_status(201);
        res.body["id"].as_str().expect("an id").to_owned()
    }

    /// The customer's super admin grants or revokes its reseller's access.
    pub async fn set_reseller_access(&self, customer_admin: &Session, granted: bool) {
        self.api
            .put("/v1/customer/reseller-access")
            .token(&customer_admin.token)
            .json(&json!({ "granted": granted }))
            .send()
            .await
            .assert_status(200);
    }

    /// The customer takes on a support partner.
    pub async fn add_support_partner(&self, customer_admin: &Session, partner_domain: &str) {
        self.post_as(
            customer_admin,
            "/v1/customer/support-partners",
            json!({ "partner_domain": partner_domain }),
        )
        .await
        .assert_status(201);
    }

    /// The customer ends its support partnership with `partner_domain`.
    pub async fn remove_support_partner(&self, customer_admin: &Session, partner_domain: &str) {
        self.api
            .delete(&format!("/v1/customer/support-partners/{partner_domain}"))
            .token(&customer_admin.token)
            .send()
            .await
            .assert_status(204);
    }

    /// Builds the small world.
    pub async fn world(&self) -> World {
        self.world_with_tier("premium").await
    }

    /// Builds the small world with the customer on this support tier.
    pub async fn world_with_tier(&self, tier: &str) -> World {
        let provider = self.provider_admin().await;
        let reseller = self
            .domain_admin(&provider, "reseller.example", "reseller")
            .await;
        let other_reseller = self
            .domain_admin(&provider, "other-reseller.example", "reseller")
            .await;
        let partner = self
            .domain_admin(&provider, "helpdesk.example", "reseller")
            .await;
        let customer_admin = self
            .domain_admin(&provider, "acme.example", "customer")
            .await;
        let customer_id = self
            .create_customer(
                &provider,
                "Acme Corporation",
                "acme.example",
                "reseller.example",
                tier,
            )
            .await;
        self.set_reseller_access(&customer_admin, true).await;
        World {
            provider,
            reseller,
            other_reseller,
            partner,
            customer_admin,
            customer_id,
        }
    }
}

/// The catalogue's "Gmail > Mail delivery > Messages bounced".
pub const BOUNCED: &str = "0193a5c0-0000-7000-8000-000000000001";

/// A case body for the "Messages bounced" category, with every field filled.
pub fn case_body(title: &str) -> Value {
    json!({
        "product_type": "google_workspace",
        "title": title,
        "classification_id": BOUNCED,
        "description": "Since this morning every message to the partner's domain bounces with 550 5.7.1 from their MX 203.0.113.25.",
        "answers": {
            "bounce_message": "550 5.7.1 Service unavailable; client host blocked",
            "affected_users_count": "about 40"
        },
        "severity": "P2",
        "language_code": "en-GB",
        "time_zone": "Europe/London",
        "subscriber_emails": ["it-lead@acme.example"]
    })
}

impl TestApp {
    /// Files a case for a customer, returning the response.
    pub async fn try_file_case(
        &self,
        who: &Session,
        customer_id: &str,
        body: Value,
    ) -> crate::Response {
        self.post_as(who, &format!("/v1/customers/{customer_id}/cases"), body)
            .await
    }

    /// Files a case, asserting success; returns the case.
    pub async fn file_case(&self, who: &Session, customer_id: &str, title: &str) -> Value {
        let res = self.try_file_case(who, customer_id, case_body(title)).await;
        res.assert_status(201);
        res.body
    }

    /// The ids of the cases in a list response, in order.
    pub fn case_ids(res: &crate::Response) -> Vec<String> {
        res.body["cases"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}
