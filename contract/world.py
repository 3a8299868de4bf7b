#!/usr/bin/env python3
"""Builds a small world on a running casebridge over HTTP and prints, as JSON, the tokens and ids
the contract tests need: a provider admin, a reseller admin, a customer admin, a customer with a
case (with a comment and an attachment).

Usage: world.py BASE_URL PROVIDER_DOMAIN PROVIDER_EMAIL PROVIDER_PASSWORD"""

import json
import sys

import httpx

PASSWORD = "correct horse battery staple"


def main():
    base, provider_domain, provider_email, provider_password = sys.argv[1:5]
    http = httpx.Client(base_url=base, timeout=30)

    def token(domain, email, password=PASSWORD):
        r = http.post("/v1/auth/token", json={"domain": domain, "email": email, "password": password})
        r.raise_for_status()
        return r.json()["access_token"]

    def call(method, path, tok, **kw):
        r = http.request(method, path, headers={"authorization": f"Bearer {tok}"}, **kw)
        if r.status_code >= 400:
            raise SystemExit(f"{method} {path}: {r.status_code} {r.text}")
        return r.json() if r.content else None

    provider = token(provider_domain, provider_email, provider_password)
    for name, realm in [("reseller.example", "reseller"), ("acme.example", "customer"),
                        ("helpdesk.example", "reseller")]:
        call("POST", "/v1/provider/domains", provider, json={
            "name": name, "realm": realm,
            "super_admin": {"email": f"admin@{name}", "display_name": "Admin", "password": PASSWORD}})
    customer = call("POST", "/v1/provider/customers", provider, json={
        "name": "Acme", "domain": "acme.example", "reseller_domain": "reseller.example",
        "support_tier": "premium",
        "postal_address": {"lines": ["1 Main St"], "locality": "Springfield", "country_code": "US"},
        "contact": {"name": "IT", "email": "it@acme.example"}})
    customer_admin = token("acme.example", "admin@acme.example")
    call("PUT", "/v1/customer/reseller-access", customer_admin, json={"granted": True})
    reseller = token("reseller.example", "admin@reseller.example")
    case = call("POST", f"/v1/customers/{customer['id']}/cases", reseller, json={
        "product_type": "google_workspace", "title": "Mail bounces",
        "classification_id": "0193a5c0-0000-7000-8000-000000000001",
        "description": "Every message to the partner domain bounces.",
        "answers": {"bounce_message": "550 5.7.1", "affected_users_count": "40"},
        "severity": "P2", "language_code": "en-US", "time_zone": "America/Chicago"})
    call("POST", f"/v1/cases/{case['id']}/comments", reseller, json={"body": "Still bouncing."})
    attachment = http.post(f"/v1/cases/{case['id']}/attachments",
                           headers={"authorization": f"Bearer {reseller}"},
                           files={"file": ("log.txt", b"550 5.7.1 log\n")}).json()
    print(json.dumps({
        "provider": provider, "reseller": reseller, "customer": customer_admin,
        "customer_id": customer["id"], "case_id": case["id"], "attachment_id": attachment["id"],
    }))


if __name__ == "__main__":
    main()
