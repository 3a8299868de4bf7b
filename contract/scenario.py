#!/usr/bin/env python3
"""A partner's day through the client that openapi-python-client generates from openapi.yaml:
sign in, list customers, file a case, comment, upload an attachment, close it and reopen it.

Everything goes through the generated functions and models, so a change to the document that
breaks generated clients breaks this script.

Usage: scenario.py BASE_URL WORLD_JSON   (casebridge_client importable, see contract/run.sh)
"""

import io
import json
import sys

from casebridge_client import AuthenticatedClient, Client
from casebridge_client.api.auth import create_token, get_me
from casebridge_client.api.cases import (
    close_case,
    create_case,
    create_comment,
    get_case,
    list_case_classifications,
    list_comments,
    list_attachments,
    list_customer_cases,
    reopen_case,
    upload_attachment,
)
from casebridge_client.api.customers import list_customers
from casebridge_client.models import (
    Attachment,
    Case,
    Comment,
    CreateCaseRequest,
    CreateCaseRequestAnswers,
    CreateCommentRequest,
    Problem,
    TokenRequest,
    UploadForm,
)
from casebridge_client.types import File


def expect(response, status, kind):
    """The response has this status and parsed into this generated model."""
    if response.status_code != status or not isinstance(response.parsed, kind):
        raise SystemExit(
            f"scenario: expected {status} {kind.__name__}, got {response.status_code}: "
            f"{response.content[:500]!r}")
    return response.parsed


def main():
    base_url, world_path = sys.argv[1:3]
    account = json.load(open(world_path))["accounts"]["reseller"]

    # Sign in to one reseller domain.
    signed_in = expect(create_token.sync_detailed(
        client=Client(base_url=base_url), body=TokenRequest.from_dict(account)), 200, object)
    assert signed_in.token_type == "Bearer" and signed_in.realm == "reseller", signed_in
    client = AuthenticatedClient(base_url=base_url, token=signed_in.access_token)
    me = get_me.sync(client=client)
    assert me.portal_access, me

    # Find the customer and a category.
    customers = list_customers.sync(client=client)
    assert len(customers.customers) == 1, customers
    customer = customers.customers[0]
    assert customer.reseller_access == "granted", customer
    categories = list_case_classifications.sync(client=client, page_size=100)
    category = next(c for c in categories.case_classifications
                    if c.product_type == "google_workspace")
    answers = CreateCaseRequestAnswers.from_dict(
        {q.id: "Since Monday" for q in category.questions if q.required})

    # File a case.
    case = expect(create_case.sync_detailed(customer.id, client=client, body=CreateCaseRequest(
        product_type="google_workspace",
        title="Shared calendars stopped syncing",
        classification_id=category.id,
        description="Since Monday, shared calendars no longer sync on mobile devices.",
        answers=answers,
        severity="P2",
        language_code="en-GB",
        time_zone="Europe/London",
    )), 201, Case)
    assert case.status == "new" and case.severity == "P2", case

    # Comment, and attach a file.
    comment = expect(create_comment.sync_detailed(
        case.id, client=client,
        body=CreateCommentRequest(body="It affects the whole sales team.")), 201, Comment)
    attachment = expect(upload_attachment.sync_detailed(
        case.id, client=client, body=UploadForm(file=File(
            payload=io.BytesIO(b"sync log: 403 from the calendar API\n"),
            file_name="sync.log", mime_type="text/plain"))), 201, Attachment)
    assert attachment.size_bytes == 36 and attachment.content_type == "text/plain", attachment
    assert [c.id for c in list_comments.sync(case.id, client=client).comments] == [comment.id]
    assert [a.id for a in list_attachments.sync(case.id, client=client).attachments] == [
        attachment.id]

    # Close it, guarded by the ETag just read, and reopen it.
    read = get_case.sync_detailed(case.id, client=client)
    expect(read, 200, Case)
    closed = expect(close_case.sync_detailed(
        case.id, client=client, if_match=read.headers["etag"]), 200, Case)
    assert closed.status == "closed" and closed.close_time, closed
    stale = close_case.sync_detailed(case.id, client=client, if_match=read.headers["etag"])
    assert stale.status_code == 412 and isinstance(stale.parsed, Problem), stale
    assert stale.parsed.code == "precondition_failed", stale.parsed
    reopened = expect(reopen_case.sync_detailed(case.id, client=client), 200, Case)
    assert reopened.status != "closed", reopened

    # The customer's list shows it, newest update first.
    listed = list_customer_cases.sync(customer.id, client=client)
    assert listed.cases[0].id == case.id, listed

    print(f"scenario: case {case.case_number} filed, commented, attached, closed and reopened "
          "through the generated client")


if __name__ == "__main__":
    main()
