"""Verifies casebridge's webhook signatures with the `standardwebhooks` package from PyPI: an
implementation of the Standard Webhooks specification that casebridge's tests did not write.

Reads a JSON list on stdin, one object per check:
  {"secret": "whsec_...", "headers": {"webhook-id": ..., "webhook-timestamp": ...,
   "webhook-signature": ...}, "body": "<exact body>", "now": <unix seconds>}
and prints a JSON list of results: true when the signature verifies with that secret,
otherwise the verifier's error message.

The package also refuses a timestamp more than five minutes from the receiver's clock. The
tests run the service on a clock they set (to days later, for example), so each check says
what the receiver's clock reads ("now": the service's clock when the test verifies) and the
package's clock is set to it; the checks themselves are the package's own.
"""

import json
import sys
from datetime import datetime, timezone

import standardwebhooks.webhooks as sw


class _Clock(datetime):
    reading = None

    @classmethod
    def now(cls, tz=None):
        return datetime.fromtimestamp(cls.reading, tz=tz or timezone.utc)


def check(item):
    _Clock.reading = item["now"]
    sw.datetime = _Clock
    try:
        sw.Webhook(item["secret"]).verify(item["body"], item["headers"], json_parse=False)
        return True
    except Exception as error:  # the package's refusal, reported to the test
        return f"{type(error).__name__}: {error}"


print(json.dumps([check(item) for item in json.load(sys.stdin)]))
