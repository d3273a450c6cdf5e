"""botocore's SigV4 signatures for the requests in gateway/testdata/sigv4-botocore.json.

The gateway's signer has a Rust unit test (gateway/src/cloud_auth/sigv4.rs) asserting the same
expected values, so the two agree byte for byte. To recompute the expected values after changing
the requests:

    tests/.venv/bin/python tests/python/test_sigv4_botocore.py --update
"""

import datetime
import json
import sys
from pathlib import Path
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

VECTORS = Path(__file__).resolve().parents[2] / "gateway" / "testdata" / "sigv4-botocore.json"


def botocore_headers(case):
    """The headers botocore's SigV4Auth adds to the case's request at the case's time."""
    request = AWSRequest(
        method=case["method"],
        url=case["url"],
        headers=dict(case["headers"]),
        data=case["body"].encode(),
    )
    credentials = Credentials(
        case["access_key_id"], case["secret_access_key"], case["session_token"]
    )
    when = datetime.datetime.fromtimestamp(case["unix_time"], datetime.timezone.utc)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4Auth(credentials, case["service"], case["region"]).add_auth(request)
    return {
        "authorization": request.headers["Authorization"],
        "x-amz-date": request.headers["X-Amz-Date"],
        "x-amz-security-token": request.headers.get("X-Amz-Security-Token"),
    }


def load():
    return json.loads(VECTORS.read_text())


def test_the_expected_values_are_botocores():
    cases = load()["cases"]
    assert len(cases) >= 5
    for case in cases:
        assert botocore_headers(case) == case["expected"], case["name"]


def test_a_model_id_colon_is_encoded_twice_in_the_canonical_uri():
    case = next(c for c in load()["cases"] if c["url"].endswith("nova-micro-v1%3A0/converse"))
    request = AWSRequest(method=case["method"], url=case["url"], data=case["body"].encode())
    signer = SigV4Auth(Credentials("AKID", "secret"), case["service"], case["region"])
    request.context["timestamp"] = "20240115T120000Z"
    canonical = signer.canonical_request(request)
    assert canonical.splitlines()[1] == "/model/us.amazon.nova-micro-v1%253A0/converse"


if __name__ == "__main__" and "--update" in sys.argv:
    vectors = load()
    for case in vectors["cases"]:
        case["expected"] = botocore_headers(case)
    VECTORS.write_text(json.dumps(vectors, indent=2) + "\n")
    print(f"updated {len(vectors['cases'])} cases in {VECTORS}")
