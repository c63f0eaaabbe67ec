"""Client of the subset of Salesforce's REST API that FinSync uses.

Contract (Salesforce REST API, version ``API_VERSION``: the only place it is
named; every path below is under ``/services/data/<API_VERSION>``):

- OAuth 2.0 token, ``POST /services/oauth2/token`` (form) on the login URL
  (``https://login.salesforce.com``, ``https://test.salesforce.com`` or the
  org's My Domain):

  - JWT bearer flow: ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``
    and ``assertion``, an RS256 JWT signed with the connected app's
    certificate key: ``iss`` the consumer key, ``sub`` the integration user,
    ``aud`` the login URL, ``exp`` a few minutes ahead;
  - client credentials flow: ``grant_type=client_credentials``, ``client_id``
    and ``client_secret`` (the org's My Domain URL as login URL).

  -> ``{"access_token", "instance_url", ...}``. The token is kept (in memory,
  and in the ``token_store`` when one is given) and renewed once when a call
  answers 401 ``INVALID_SESSION_ID``.
- ``GET /query?q=<SOQL>`` and ``/queryAll`` (deleted and archived rows too)
  -> ``{"totalSize", "done", "records", "nextRecordsUrl"}``: pages of up to
  2,000 records (``Sforce-Query-Options: batchSize=``), the next one at
  ``nextRecordsUrl`` until ``done``.
- ``GET /sobjects/<sObject>/deleted/?start=&end=`` -> ``{"deletedRecords":
  [{"id", "deletedDate"}], "earliestDateAvailable", "latestDateCovered"}``.
- Bulk API 2.0 query jobs: ``POST /jobs/query`` ``{"operation": "query",
  "query"}`` -> ``{"id", "state"}``; ``GET /jobs/query/<id>`` until ``state``
  is ``JobComplete``; ``GET /jobs/query/<id>/results?maxRecords=&locator=``
  -> CSV, the next part named by the ``Sforce-Locator`` header (``null`` at
  the end).
- ``GET``/``PATCH /sobjects/<sObject>/<id>``; upsert ``PATCH
  /sobjects/<sObject>/<external id field>/<value>`` (201 created, 200 or 204
  updated); ``POST /composite`` ``{"allOrNone", "compositeRequest"}``;
  ``GET /limits``.

Every answer's ``Sforce-Limit-Info: api-usage=<used>/<max>`` is kept in
``api_used`` / ``api_max``. Errors are ``[{"errorCode", "message"}]`` (OAuth:
``{"error", "error_description"}``): ``REQUEST_LIMIT_EXCEEDED`` (403), 429,
5xx, timeouts and unfinished bulk jobs raise ``SalesforceTransientError``
(try again later, from the watermark); other refusals raise
``SalesforceError`` with the method, the path, the status and the error code,
never a token, a key, a query or a payload. No Odoo imports.
"""

import base64
import csv
import io
import json
import logging
import time
from urllib.parse import quote

from odoo.addons.finsync_base.tools.http_client import (
    DEFAULT_TIMEOUT,
    MAX_WAIT,
    RetryingHttpClient,
)

_logger = logging.getLogger(__name__)

API_VERSION = "v61.0"
LOGIN_URLS = {"live": "https://login.salesforce.com", "sandbox": "https://test.salesforce.com"}
TOKEN_PATH = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME = 180  # seconds: Salesforce accepts an assertion up to 3 minutes ahead
QUERY_BATCH = 2000  # largest page of query / queryAll
BULK_PART = 50000  # records per part of a Bulk 2.0 result
# Polls of a Bulk 2.0 query job: the first after half a second, each wait twice the last
# up to 10 s (a small job is read as soon as it is done; a long one costs few API calls),
# given up (transient: the job retries later) after about 5 minutes of waiting.
BULK_FIRST_POLL = 0.5
BULK_POLL_MAX = 10
BULK_MAX_WAIT = 300
# Seconds to wait after REQUEST_LIMIT_EXCEEDED: the 24-hour allowance frees up slowly.
LIMIT_BACKOFF = 900


def data_path(path):
    """``path`` under the pinned REST API version."""
    return f"/services/data/{API_VERSION}{path}"


class SalesforceError(Exception):
    """A request Salesforce refused; retrying will not help."""

    def __init__(self, message, status=None, code=None):
        super().__init__(message)
        self.status = status
        self.code = code


class SalesforceTransientError(SalesforceError):
    """Throttling, the API limit or an outage: try again later, from the watermark."""

    def __init__(self, message, status=None, retry_after=None, code=None):
        super().__init__(message, status, code)
        self.retry_after = retry_after


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_assertion(private_key_pem, client_id, username, audience, now=None):
    """The RS256 JWT of the bearer flow, signed with the connected app's private key."""
    # Imported here: the library is needed only by connectors using the JWT flow.
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    if isinstance(private_key_pem, str):
        private_key_pem = private_key_pem.encode()
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError) as err:
        raise SalesforceError("the private key is not an unencrypted PEM RSA key") from err
    claims = {
        "iss": client_id,
        "sub": username,
        "aud": audience,
        "exp": int((now or time.time()) + JWT_LIFETIME),
    }
    signing_input = (
        _b64url(json.dumps({"alg": "RS256"}).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


class SalesforceClient(RetryingHttpClient):
    transient_error = SalesforceTransientError
    max_wait = MAX_WAIT

    def __init__(
        self,
        login_url,
        client_id,
        flow="jwt",
        username=None,
        private_key=None,
        client_secret=None,
        token_store=None,
        session=None,
        timeout=DEFAULT_TIMEOUT,
        max_retries=3,
        sleep=time.sleep,
        batch_size=QUERY_BATCH,
    ):
        if not client_id:
            raise SalesforceError("no consumer key (client id) configured")
        if flow == "jwt" and not (private_key and username):
            raise SalesforceError("the JWT flow needs a private key and a username")
        if flow == "client_credentials" and not client_secret:
            raise SalesforceError("the client credentials flow needs a consumer secret")
        super().__init__(login_url, session, timeout, max_retries, sleep)
        self.login_url = self.base_url
        self.client_id = client_id
        self.flow = flow
        self.username = username
        self.private_key = private_key
        self.client_secret = client_secret
        self.token_store = token_store
        self.batch_size = max(200, min(int(batch_size), QUERY_BATCH))
        self.access_token = None
        self.instance_url = None
        self.token_requests = 0
        self.api_used = None
        self.api_max = None
        if token_store:
            stored = token_store.load()
            if stored:
                self.access_token, self.instance_url = stored

    # -- transport -----------------------------------------------------------
    def _transmit(self, method, url, **kwargs):
        response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        self._track_limits(response.headers.get("Sforce-Limit-Info") or "")
        return response

    def _track_limits(self, header):
        """``api-usage=<used>/<max>`` of the org's daily allowance."""
        for part in header.split(","):
            name, _sep, value = part.strip().partition("=")
            if name == "api-usage" and "/" in value:
                used, _sep, maximum = value.partition("/")
                if used.isdigit() and maximum.isdigit():
                    self.api_used, self.api_max = int(used), int(maximum)

    def _refusal(self, method, path, response):
        code = _error_code(response)
        message = f"{method} {path}: HTTP {response.status_code}" + (f" ({code})" if code else "")
        if code == "REQUEST_LIMIT_EXCEEDED":
            return SalesforceTransientError(
                message, status=response.status_code, retry_after=LIMIT_BACKOFF, code=code
            )
        return SalesforceError(message, status=response.status_code, code=code)

    def _call(self, base_url, method, path, **kwargs):
        self.base_url = base_url.rstrip("/")
        return self._send(method, path, **kwargs)

    # -- authentication ------------------------------------------------------
    def authenticate(self):
        """Ask the token endpoint for a new access token (the configured flow)."""
        if self.flow == "jwt":
            data = {
                "grant_type": JWT_GRANT,
                "assertion": jwt_assertion(
                    self.private_key, self.client_id, self.username, self.login_url
                ),
            }
        else:
            data = {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        self.token_requests += 1
        response = self._call(self.login_url, "POST", TOKEN_PATH, data=data)
        document = _json(response, "POST", TOKEN_PATH)
        token, instance_url = document.get("access_token"), document.get("instance_url")
        if not token or not instance_url:
            raise SalesforceError(f"POST {TOKEN_PATH}: no access token in the answer")
        self.access_token, self.instance_url = token, instance_url.rstrip("/")
        if self.token_store:
            self.token_store.save(self.access_token, self.instance_url)
        _logger.info("Salesforce token obtained (%s flow)", self.flow)
        return self.access_token

    def request(self, method, path, params=None, json_body=None, headers=None, _renew=True):
        """One API call with the bearer token; renewed once on 401 ``INVALID_SESSION_ID``."""
        if not self.access_token:
            self.authenticate()
        all_headers = {"Authorization": f"Bearer {self.access_token}", **(headers or {})}
        try:
            return self._call(
                self.instance_url,
                method,
                path,
                params=params,
                json=json_body,
                headers=all_headers,
            )
        except SalesforceError as err:
            expired = err.status == 401 and err.code in ("INVALID_SESSION_ID", None)
            if not expired or not _renew or isinstance(err, SalesforceTransientError):
                raise
        self.access_token = None
        return self.request(method, path, params, json_body, headers, _renew=False)

    def _get_json(self, path, params=None, headers=None):
        return _json(self.request("GET", path, params=params, headers=headers), "GET", path)

    # -- reads ---------------------------------------------------------------
    def query(self, soql, include_deleted=False):
        """Yield the pages of a SOQL query (``queryAll`` with ``include_deleted``)."""
        path = data_path("/queryAll" if include_deleted else "/query")
        headers = {"Sforce-Query-Options": f"batchSize={self.batch_size}"}
        page = self._get_json(path, params={"q": soql}, headers=headers)
        while True:
            yield page
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._get_json(next_url, headers=headers)

    def count(self, soql):
        """``totalSize`` of a ``SELECT COUNT() FROM ...`` query."""
        return int(next(self.query(soql)).get("totalSize") or 0)

    def get_deleted(self, sobject, start, end):
        """Ids deleted between ``start`` and ``end`` (ISO 8601 UTC strings)."""
        return self._get_json(
            data_path(f"/sobjects/{sobject}/deleted/"), params={"start": start, "end": end}
        )

    def bulk_query(self, soql, part_size=BULK_PART):
        """Yield the rows of a Bulk API 2.0 query job, one list of dicts per result part.

        CSV cells are strings; an empty cell is ``None``. The job is polled after
        0.5, 1, 2, 4, 8, 10, 10... seconds; one still running after
        ``BULK_MAX_WAIT`` seconds of waiting raises ``SalesforceTransientError``.
        """
        path = data_path("/jobs/query")
        created = self.request("POST", path, json_body={"operation": "query", "query": soql})
        job_id = _json(created, "POST", path).get("id")
        job_path = f"{path}/{job_id}"
        wait, waited = BULK_FIRST_POLL, 0
        while True:
            state = self._get_json(job_path).get("state")
            if state == "JobComplete":
                break
            if state in ("Failed", "Aborted"):
                raise SalesforceError(f"GET {path}/<job>: the query job ended {state}")
            if waited >= BULK_MAX_WAIT:
                raise SalesforceTransientError(f"GET {path}/<job>: the query job is still running")
            self.sleep(wait)
            waited += wait
            wait = min(wait * 2, BULK_POLL_MAX)
        locator = None
        while True:
            params = {"maxRecords": part_size}
            if locator:
                params["locator"] = locator
            response = self.request("GET", f"{job_path}/results", params=params)
            text = response.content.decode("utf-8-sig")
            rows = [
                {key: (value if value != "" else None) for key, value in row.items()}
                for row in csv.DictReader(io.StringIO(text))
            ]
            yield rows
            locator = response.headers.get("Sforce-Locator")
            if not locator or locator == "null":
                return

    def limits(self):
        return self._get_json(data_path("/limits"))

    # -- writes (write-back) ---------------------------------------------------
    def get_record(self, sobject, record_id, fields=None):
        params = {"fields": ",".join(fields)} if fields else None
        return self._get_json(data_path(f"/sobjects/{sobject}/{record_id}"), params=params)

    def update_record(self, sobject, record_id, values):
        """PATCH an sObject by its Salesforce id (204 on success)."""
        self.request("PATCH", data_path(f"/sobjects/{sobject}/{record_id}"), json_body=values)

    def upsert(self, sobject, external_field, external_value, values):
        """PATCH by external id: ``{"id", "created"}`` (``created`` False on an update)."""
        path = data_path(f"/sobjects/{sobject}/{external_field}/{quote(str(external_value))}")
        response = self.request("PATCH", path, json_body=values)
        document = _json(response, "PATCH", path) if response.content else {}
        return {"id": document.get("id"), "created": response.status_code == 201}

    def composite(self, subrequests, all_or_none=True):
        """``POST /composite``: up to 25 subrequests ``{"method", "url", "referenceId",
        "body"}`` in one call; returns ``compositeResponse``."""
        path = data_path("/composite")
        response = self.request(
            "POST",
            path,
            json_body={"allOrNone": all_or_none, "compositeRequest": list(subrequests)},
        )
        return _json(response, "POST", path).get("compositeResponse") or []


def _json(response, method, path):
    try:
        return response.json()
    except ValueError as err:
        raise SalesforceError(f"{method} {path}: the answer is not JSON") from err


def _error_code(response):
    """Salesforce's ``errorCode`` (REST) or ``error`` (OAuth) of a refusal, if any."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        code = body[0].get("errorCode")
    elif isinstance(body, dict):
        code = body.get("errorCode") or body.get("error")
    else:
        code = None
    return code if isinstance(code, str) else None
