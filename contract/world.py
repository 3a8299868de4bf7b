#!/usr/bin/env python3
"""Builds a small world on a running casebridge over HTTP, for the contract tests.

The world: a reseller domain with a second user and a custom role; a premium customer that has
authorised its reseller, with an open case (a comment, an attachment) and a closed one; a support
partner domain. Writes into OUT_DIR:

- world.json: the sign-in of each realm's super admin and the ids made;
- one schemathesis dictionary per path parameter (`<parameter>.dict`), so that fuzzed requests
  reach real resources as well as made-up ones.

Names stay clear of the document's examples, so that fuzzed sign-ins never hit these accounts.

Usage: world.py BASE_URL OUT_DIR PROVIDER_DOMAIN PROVIDER_EMAIL PROVIDER_PASSWORD
"""

import json
import pathlib
import sys

import httpx

PASSWORD = "contract world pass phrase"
RESELLER = "partner-one.test"
CUSTOMER = "acme-corp.test"
SUPPORT_PARTNER = "helpdesk-partner.test"


class Api:
    def __init__(self, base):
        self.http = httpx.Client(base_url=base, timeout=30)

    def token(self, domain, email, password=PASSWORD):
        r = self.http.post("/v1/auth/token",
                           json={"domain": domain, "email": email, "password": password})
        r.raise_for_status()
        return r.json()["access_token"]

    def call(self, method, path, token, **kw):
        headers = {"authorization": f"Bearer {token}", **kw.pop("headers", {})}
        r = self.http.request(method, path, headers=headers, **kw)
        if r.status_code >= 400:
            raise SystemExit(f"world: {method} {path}: {r.status_code} {r.text}")
        return r


def main():
    base, out, provider_domain, provider_email, provider_password = sys.argv[1:6]
    out = pathlib.Path(out)
    api = Api(base)

    provider = api.token(provider_domain, provider_email, provider_password)
    domains = {}
    for name, realm in [(RESELLER, "reseller"), (CUSTOMER, "customer"),
                        (SUPPORT_PARTNER, "reseller")]:
        domains[name] = api.call("POST", "/v1/provider/domains", provider, json={
            "name": name, "realm": realm,
            "super_admin": {"email": f"admin@{name}", "display_name": "Admin",
                            "password": PASSWORD}}).json()["id"]
    customer = api.call("POST", "/v1/provider/customers", provider, json={
        "name": "Acme Corp", "domain": CUSTOMER, "reseller_domain": RESELLER,
        "support_tier": "premium",
        "postal_address": {"lines": ["1 Main St"], "locality": "Springfield",
                           "country_code": "US"},
        "contact": {"name": "IT desk", "email": f"it@{CUSTOMER}"}}).json()

    customer_admin = api.token(CUSTOMER, f"admin@{CUSTOMER}")
    api.call("PUT", "/v1/customer/reseller-access", customer_admin, json={"granted": True})
    api.call("POST", "/v1/customer/support-partners", customer_admin,
             json={"partner_domain": SUPPORT_PARTNER})

    reseller = api.token(RESELLER, f"admin@{RESELLER}")
    role = api.call("POST", "/v1/admin/roles", reseller, json={
        "name": "Support desk", "privileges": ["support", "view_customers",
                                               "access_customer_support_cases"]}).json()
    user = api.call("POST", "/v1/admin/users", reseller, json={
        "email": f"agent@{RESELLER}", "display_name": "Agent",
        "password": PASSWORD}).json()
    api.call("PUT", f"/v1/admin/users/{user['id']}/roles", reseller,
             json={"roles": [role["id"]]})

    classifications = api.call("GET", "/v1/case-classifications?page_size=100",
                               reseller).json()["case_classifications"]
    category = next(c for c in classifications if c["product_type"] == "google_workspace")
    answers = {q["id"]: "Not known yet" for q in category["questions"] if q["required"]}

    def file_case(title):
        return api.call("POST", f"/v1/customers/{customer['id']}/cases", reseller, json={
            "product_type": "google_workspace", "title": title,
            "classification_id": category["id"],
            "description": "Filed by the contract world.", "answers": answers,
            "severity": "P3", "language_code": "en-US", "time_zone": "Europe/Berlin"}).json()

    case = file_case("Calendar invitations arrive late")
    comment = api.call("POST", f"/v1/cases/{case['id']}/comments", reseller,
                       json={"body": "Seen again this morning."}).json()
    attachment = api.call("POST", f"/v1/cases/{case['id']}/attachments", reseller,
                          files={"file": ("trace.txt", b"delivery trace\n")}).json()
    closed = file_case("Shared drive quota question")
    api.call("POST", f"/v1/cases/{closed['id']}/close", reseller)

    world = {
        "accounts": {
            "provider": {"domain": provider_domain, "email": provider_email,
                         "password": provider_password},
            "reseller": {"domain": RESELLER, "email": f"admin@{RESELLER}", "password": PASSWORD},
            "customer": {"domain": CUSTOMER, "email": f"admin@{CUSTOMER}", "password": PASSWORD},
        },
        "customer_id": customer["id"],
        "case_id": case["id"],
        "closed_case_id": closed["id"],
        "comment_id": comment["id"],
        "attachment_id": attachment["id"],
        "user_id": user["id"],
        "role_id": role["id"],
    }
    (out / "world.json").write_text(json.dumps(world, indent=2))
    dictionaries = {
        "case_id": [case["id"], closed["id"]],
        "customer_id": [customer["id"]],
        "comment_id": [comment["id"]],
        "attachment_id": [attachment["id"]],
        "user_id": [user["id"]],
        "role_id": [role["id"], "reseller_admin"],
        "domain_id": list(domains.values()),
        "partner_domain": [SUPPORT_PARTNER],
    }
    for name, values in dictionaries.items():
        (out / f"{name}.dict").write_text("".join(f'"{v}"\n' for v in values))


if __name__ == "__main__":
    main()
