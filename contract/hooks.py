"""Schemathesis hooks for casebridge: signs in as the super admin of the realm an operation
belongs to (provider, customer or reseller), and signs in afresh when a token stops working
(after a fuzzed logout, say).

Sign-ins go out from 127.0.0.2, another client address than the fuzzed traffic's 127.0.0.1, so
that the fuzzed failed sign-ins that trip the per-address throttle do not lock the test's own
accounts out; the accounts' names are not in the document, so fuzzing never guesses them.

Reads CASEBRIDGE_CONTRACT_URL (the server) and CASEBRIDGE_CONTRACT_WORLD (world.json).
"""

import json
import os

import httpx
import schemathesis

BASE_URL = os.environ["CASEBRIDGE_CONTRACT_URL"]
ACCOUNTS = json.load(open(os.environ["CASEBRIDGE_CONTRACT_WORLD"]))["accounts"]
SIGN_IN = httpx.Client(
    base_url=BASE_URL,
    timeout=30,
    transport=httpx.HTTPTransport(local_address="127.0.0.2"),
)


def realm(case, _ctx=None):
    path = case.operation.path
    if path.startswith("/v1/provider/"):
        return "provider"
    if path.startswith("/v1/customer/"):
        return "customer"
    return "reseller"


@schemathesis.auth(cache_by_key=realm, refresh_interval=600)
class SuperAdminOfTheRealm:
    def get(self, case, ctx):
        r = SIGN_IN.post("/v1/auth/token", json=ACCOUNTS[realm(case)])
        r.raise_for_status()
        return r.json()["access_token"]

    def set(self, case, token, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
