#!/usr/bin/env python3
"""Writes a legacy export (docs/legacy-import.md) of CASES cases with two comments each, over
10 reseller domains and 1,000 customers, for timing `casebridge import-legacy`.

Usage: gen_legacy.py CASES FILE"""

import json
import sys

# bcrypt of "rita-old-password-2019", as in the example export.
HASH = "$2b$10$D5foX.3TmU9lPdA2WQGmWOFxt6O0IV91/yddNFd89lyu.t0PQp.we"
BOUNCED = "0193a5c0-0000-7000-8000-000000000001"
TOPICS = ["mail delivery", "calendar sync", "drive sharing", "meet recordings", "admin console sign in"]


def main():
    cases, path = int(sys.argv[1]), sys.argv[2]
    resellers, customers = 10, 1000
    with open(path, "w", encoding="utf-8") as out:
        def line(record):
            out.write(json.dumps(record, separators=(",", ":")) + "\n")

        line({"kind": "export", "format": "casebridge-legacy", "version": 1, "source": "bench"})
        for r in range(resellers):
            line({"kind": "domain", "id": f"rd-{r}", "name": f"reseller{r}.bench.example", "realm": "reseller"})
            line({"kind": "user", "id": f"ru-{r}", "domain": f"rd-{r}", "email": f"agent@reseller{r}.bench.example",
                  "display_name": f"Agent {r}", "password_hash": HASH, "roles": ["reseller_admin"]})
        for c in range(customers):
            line({"kind": "domain", "id": f"cd-{c}", "name": f"customer{c}.bench.example", "realm": "customer"})
            line({"kind": "customer", "id": f"cu-{c}", "name": f"Customer {c}", "domain": f"cd-{c}",
                  "reseller_domain": f"rd-{c % resellers}", "support_tier": "premium", "reseller_access": "granted",
                  "postal_address": {"lines": ["1 Main Street"], "locality": "Springfield", "country_code": "US"},
                  "contact": {"name": "IT desk", "email": f"it@customer{c}.bench.example"}})
        for k in range(cases):
            c = k % customers
            topic = TOPICS[k % len(TOPICS)]
            closed = k % 4 == 0
            line({
                "kind": "case", "id": f"case-{k}", "case_number": 5_000_000 + k, "customer": f"cu-{c}",
                "creator": f"ru-{c % resellers}", "title": f"Problem with {topic} for the sales team",
                "classification_id": BOUNCED,
                "description": f"Users report trouble with {topic} since the last rollout; steps to reproduce attached.",
                "answers": {"bounce_message": "550 5.7.1 relay denied", "affected_users_count": "a dozen"},
                "severity": f"P{1 + k % 4}", "status": "closed" if closed else "in_progress_support",
                "language_code": "en-US", "time_zone": "America/Chicago",
                "create_time": "2026-01-05T09:00:00Z", "update_time": "2026-01-06T10:00:00Z",
                "close_time": "2026-01-06T10:00:00Z" if closed else None,
                "comments": [
                    {"id": f"cm-{k}-1", "author": f"ru-{c % resellers}", "body": f"More detail on the {topic} trouble.",
                     "create_time": "2026-01-05T12:00:00Z"},
                    {"id": f"cm-{k}-2", "author_email": "engineer@support.bench.example", "party": "support",
                     "body": "We are looking into it with the product team.", "create_time": "2026-01-06T10:00:00Z"},
                ],
            })


if __name__ == "__main__":
    main()
