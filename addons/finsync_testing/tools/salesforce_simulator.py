"""A local simulator of the part of Salesforce's REST API that ``finsync_crm`` uses.

It serves, on 127.0.0.1 only and from memory, the contract described in
``finsync_crm/adapters/salesforce_client.py``:

- the OAuth token endpoint: the JWT bearer flow (the assertion's RS256
  signature checked with the connected app's public key, ``iss``, ``sub``,
  ``aud`` and ``exp``) and the client credentials flow; tokens expire
  (``expire_tokens()``, or ``token_ttl`` seconds) and are then refused with
  401 ``INVALID_SESSION_ID``;
- ``query`` / ``queryAll`` of a small SOQL subset (``SELECT <fields> FROM
  <sObject> [WHERE <field> <op> <value> [AND ...]] [ORDER BY ...] [LIMIT n]``, ``<op>``
  one of ``= != < <= > >= IN ('a', 'b')``, and
  ``SELECT COUNT() ...``), pages of ``page_size`` records (at most the
  ``batchSize`` asked) chained by ``nextRecordsUrl``; ``getDeleted`` with
  ``earliestDateAvailable``;
- sObject GET / PATCH by id, POST (create), upsert by external id, composite;
- ``/limits`` and the ``Sforce-Limit-Info`` header of every API answer;
  ``limit_exceeded_next(n)`` answers 403 ``REQUEST_LIMIT_EXCEEDED``;
- Bulk API 2.0 query jobs (``InProgress`` for ``bulk_polls`` polls, then
  ``JobComplete``), CSV results in parts of ``maxRecords`` chained by
  ``Sforce-Locator``;
- late commits: ``add_account(..., stamp=...)`` gives a record an older
  ``SystemModstamp`` than records already served::

    sim = SalesforceSimulator(client_id="3MVG9", public_key=pem, client_secret="s")
    account = sim.add_account("Azure Interior", BillingCountry="Belgium")
    sim.add_contact(account["Id"], "Ann", "Smith", Email="ann@azure.example")
    sim.start()                           # sim.url -> http://127.0.0.1:<port>
    sim.update("Account", account["Id"], Phone="+32 2 000 00 00")
    sim.delete("Account", account["Id"])
    sim.stop()

``setup/simulator.py`` runs this module alone: it serves a demo data set until
interrupted.
"""

import argparse
import base64
import csv
import io
import itertools
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote

from .simulator import ApiSimulator

API_VERSION = "v61.0"
DATA = f"/services/data/{API_VERSION}"
ID_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "OpportunityLineItem": "00k",
    "Product2": "01t",
}
DEMO_CLIENT_ID = "3MVG9FinSyncDemoConsumerKey"
DEMO_CLIENT_SECRET = "finsync-demo-consumer-secret"


def stamp(moment):
    """Salesforce's datetime format: ``2026-01-01T00:00:00.000+0000``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_stamp(value):
    value = value.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif re.search(r"[+-]\d{4}$", value):
        value = value[:-2] + ":" + value[-2:]
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class SalesforceSimulator(ApiSimulator):
    methods = ("GET", "POST", "PATCH", "DELETE")

    def __init__(
        self,
        client_id=DEMO_CLIENT_ID,
        client_secret=None,
        public_key=None,
        username="integration@finsync.example",
        port=0,
        page_size=2000,
        token_ttl=7200,
        api_max=15000,
        bulk_polls=1,
    ):
        super().__init__(port)
        self.client_id = client_id
        self.client_secret = client_secret
        self.public_key = public_key
        self.username = username
        self.page_size = page_size
        self.token_ttl = token_ttl
        self.api_max = api_max
        self.api_used = 0
        self.bulk_polls = bulk_polls
        self.records = {}  # sObject -> {Id: record}
        self.deleted = []  # (sObject, Id, deletedDate)
        self.earliest_deleted = datetime.now(UTC) - timedelta(days=15)
        self.patches = []  # (sObject, Id, body) of every PATCH applied, in order
        self.tokens = {}  # token -> expiry (unix time)
        self.token_grants = []  # the grant types asked, in order
        self._cursors = {}
        self._jobs = {}
        self._seq = itertools.count(1)
        self._last_stamp = datetime.now(UTC) - timedelta(hours=1)
        self._data_lock = threading.RLock()

    # -- data ------------------------------------------------------------------
    def _new_id(self, sobject):
        return f"{ID_PREFIXES.get(sobject, 'a00')}SIM{next(self._seq):012d}AAA"[:18]

    def now(self):
        """The next SystemModstamp: the clock (in milliseconds), never twice the same and
        never ahead of the clock (Salesforce never stamps in the future: a stamp ahead
        would fall after the end of a ``getDeleted`` window asked for "until now")."""
        while True:
            moment = datetime.now(UTC)
            moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
            if moment > self._last_stamp:
                break
            time.sleep(0.0005)
        self._last_stamp = moment
        return moment

    def add(self, sobject, values, stamp_at=None):
        """Create a record; ``stamp_at`` (a datetime) makes it a late commit."""
        with self._data_lock:
            record = {
                "attributes": {"type": sobject},
                "Id": values.get("Id") or self._new_id(sobject),
                "IsDeleted": False,
                **values,
            }
            record["SystemModstamp"] = stamp(stamp_at or self.now())
            record["attributes"]["url"] = f"{DATA}/sobjects/{sobject}/{record['Id']}"
            self.records.setdefault(sobject, {})[record["Id"]] = record
            return dict(record)

    def add_account(self, name, stamp=None, **values):
        return self.add("Account", {"Name": name, **values}, stamp_at=stamp)

    def add_contact(self, account_id, first_name, last_name, stamp=None, **values):
        return self.add(
            "Contact",
            {"AccountId": account_id, "FirstName": first_name, "LastName": last_name, **values},
            stamp_at=stamp,
        )

    def add_opportunity(self, account_id, name, stage="Prospecting", stamp=None, **values):
        values.setdefault("HasOpportunityLineItem", False)
        values.setdefault("Amount", 0.0)
        values.setdefault("CloseDate", datetime.now(UTC).date().isoformat())
        return self.add(
            "Opportunity",
            {"AccountId": account_id, "Name": name, "StageName": stage, **values},
            stamp_at=stamp,
        )

    def add_line_item(self, opportunity_id, product_code, quantity, unit_price, **values):
        """A line item; its opportunity's Amount and stamp follow (a roll-up in Salesforce)."""
        values.setdefault("Discount", None)
        with self._data_lock:
            count = sum(
                1
                for line in self.records.get("OpportunityLineItem", {}).values()
                if line["OpportunityId"] == opportunity_id
            )
            values.setdefault("SortOrder", count + 1)
            line = self.add(
                "OpportunityLineItem",
                {
                    "OpportunityId": opportunity_id,
                    "ProductCode": product_code,
                    "Quantity": quantity,
                    "UnitPrice": unit_price,
                    **values,
                },
            )
            self._roll_up(opportunity_id)
            return line

    def _roll_up(self, opportunity_id):
        lines = [
            line
            for line in self.records.get("OpportunityLineItem", {}).values()
            if line["OpportunityId"] == opportunity_id and not line["IsDeleted"]
        ]
        amount = sum(
            line["Quantity"] * line["UnitPrice"] * (1 - (line.get("Discount") or 0) / 100)
            for line in lines
        )
        self.update(
            "Opportunity",
            opportunity_id,
            Amount=round(amount, 2),
            HasOpportunityLineItem=bool(lines),
        )

    def update(self, sobject, record_id, stamp_at=None, **values):
        with self._data_lock:
            record = self.records[sobject][record_id]
            record.update(values)
            record["SystemModstamp"] = stamp(stamp_at or self.now())
            if sobject == "OpportunityLineItem":
                self._roll_up(record["OpportunityId"])
            return dict(record)

    def delete(self, sobject, record_id):
        with self._data_lock:
            record = self.records[sobject][record_id]
            moment = self.now()
            record.update(IsDeleted=True, SystemModstamp=stamp(moment))
            self.deleted.append((sobject, record_id, moment))
            if sobject == "OpportunityLineItem":
                self._roll_up(record["OpportunityId"])

    def expire_tokens(self):
        self.tokens.clear()

    def limit_exceeded_next(self, count, path_part="/query", after=0):
        """Answer ``count`` API calls 403 ``REQUEST_LIMIT_EXCEEDED`` (after ``after`` good ones)."""
        self.fail_next(count, status=403, path_part=path_part, after=after)

    def error_body(self, kind, status):
        if status == 403:
            return [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit"}]
        return [{"errorCode": "SERVER_UNAVAILABLE", "message": "Try again later"}]

    # -- routing ---------------------------------------------------------------
    def route(self, method, path, query, headers, body):
        if path == "/services/oauth2/token" and method == "POST":
            return self._token(headers, body)
        if not path.startswith(DATA):
            return 404, {}, [{"errorCode": "NOT_FOUND", "message": "unknown path"}]
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        token = auth.removeprefix("Bearer ")
        if self.tokens.get(token, 0) < time.time():
            return 401, {}, [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired"}]
        with self.lock:
            self.api_used += 1
        limit = {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.api_max}"}
        status, extra, payload = self._api(method, path[len(DATA) :], query, headers, body)
        return status, {**limit, **extra}, payload

    def _api(self, method, path, query, headers, body):
        document = json.loads(body) if body and method in ("POST", "PATCH") else None
        with self._data_lock:
            if path in ("/query", "/queryAll") and method == "GET":
                batch = re.search(r"batchSize=(\d+)", headers.get("Sforce-Query-Options", ""))
                size = min(self.page_size, int(batch.group(1)) if batch else 2000)
                return self._query(query["q"][0], path == "/queryAll", size)
            if path.startswith("/query/") and method == "GET":
                return self._next_page(path.split("/")[-1])
            if path == "/limits":
                return (
                    200,
                    {},
                    {
                        "DailyApiRequests": {
                            "Max": self.api_max,
                            "Remaining": self.api_max - self.api_used,
                        }
                    },
                )
            if path == "/composite" and method == "POST":
                return self._composite(document)
            if path.startswith("/jobs/query"):
                return self._bulk(method, path, query, document)
            match = re.fullmatch(r"/sobjects/(\w+)/deleted/?", path)
            if match:
                return self._get_deleted(match.group(1), query)
            match = re.fullmatch(r"/sobjects/(\w+)(?:/(\w+))?(?:/([^/]+))?", path)
            if match:
                return self._sobject(method, *match.groups(), document)
        return 404, {}, [{"errorCode": "NOT_FOUND", "message": "unknown resource"}]

    # -- OAuth -------------------------------------------------------------------
    def _token(self, headers, body):
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        grant = form.get("grant_type")
        self.token_grants.append(grant)
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            problem = self._check_jwt(form.get("assertion") or "")
        elif grant == "client_credentials":
            ok = (
                self.client_secret
                and form.get("client_id") == self.client_id
                and form.get("client_secret") == self.client_secret
            )
            problem = None if ok else "invalid client credentials"
        else:
            problem = "unsupported grant type"
        if problem:
            return 400, {}, {"error": "invalid_grant", "error_description": problem}
        token = f"00DSIM!{base64.urlsafe_b64encode(next(self._seq).to_bytes(8, 'big')).decode()}"
        self.tokens[token] = time.time() + self.token_ttl
        return (
            200,
            {},
            {
                "access_token": token,
                "instance_url": self.url,
                "id": f"{self.url}/id/00DSIM/005SIM",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
            },
        )

    def _check_jwt(self, assertion):
        """Why the assertion is refused, or None (signature, iss, sub, aud, exp)."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        if not self.public_key:
            return "no certificate registered"
        try:
            header, claims, signature = assertion.split(".")
            key = serialization.load_pem_public_key(
                self.public_key.encode() if isinstance(self.public_key, str) else self.public_key
            )
            key.verify(
                _b64url_decode(signature),
                f"{header}.{claims}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            head, payload = (json.loads(_b64url_decode(part)) for part in (header, claims))
        except (ValueError, InvalidSignature):
            return "invalid assertion"
        if head.get("alg") != "RS256":
            return "invalid algorithm"
        if payload.get("iss") != self.client_id or payload.get("sub") != self.username:
            return "invalid issuer or subject"
        if payload.get("aud") != self.url:
            return "invalid audience"
        if int(payload.get("exp") or 0) < time.time():
            return "expired assertion"
        return None

    # -- SOQL --------------------------------------------------------------------
    _SOQL = re.compile(
        r"SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<sobject>\w+)"
        r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?"
        r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
        re.IGNORECASE | re.DOTALL,
    )

    def _select(self, soql, include_deleted):
        match = self._SOQL.match(soql.strip())
        if not match:
            raise ValueError("MALFORMED_QUERY")
        fields = [name.strip() for name in match.group("fields").split(",")]
        conditions = [
            re.fullmatch(r"\s*(\w+)\s*(>=|<=|!=|=|>|<|\bIN\b)\s*(.+?)\s*", part, re.IGNORECASE)
            for part in re.split(r"\s+AND\s+", match.group("where") or "", flags=re.IGNORECASE)
            if part.strip()
        ]
        if not all(conditions):
            raise ValueError("MALFORMED_QUERY")
        rows = [
            record
            for record in self.records.get(match.group("sobject"), {}).values()
            if (include_deleted or not record["IsDeleted"])
            and all(self._holds(record, *cond.groups()) for cond in conditions)
        ]
        rows.sort(key=lambda r: (r["SystemModstamp"], r["Id"]))
        if match.group("limit"):
            rows = rows[: int(match.group("limit"))]
        return fields, rows

    @staticmethod
    def _holds(record, field, operator, literal):
        value = record.get(field)
        if operator.upper() == "IN":
            return value in re.findall(r"'([^']*)'", literal)
        if literal.lower() in ("true", "false"):
            literal = literal.lower() == "true"
        elif literal.lower() == "null":
            literal = None
        elif literal.startswith("'"):
            literal = literal.strip("'")
        elif re.match(r"\d{4}-\d\d-\d\dT", literal):
            literal, value = parse_stamp(literal), value and parse_stamp(value)
        if operator == "=":
            return value == literal
        if operator == "!=":
            return value != literal
        if value is None or literal is None:
            return False
        return {">": value > literal, ">=": value >= literal, "<": value < literal}.get(
            operator, value <= literal
        )

    def _project(self, record, fields):
        values = {"attributes": record["attributes"]}
        values.update({name: record.get(name) for name in fields})
        return values

    def _query(self, soql, include_deleted, size):
        try:
            fields, rows = self._select(soql, include_deleted)
        except ValueError as err:
            return 400, {}, [{"errorCode": str(err), "message": "unsupported query"}]
        if fields == ["COUNT()"]:
            return 200, {}, {"totalSize": len(rows), "done": True, "records": []}
        cursor = f"01gSIM{next(self._seq):09d}"
        self._cursors[cursor] = [self._project(r, fields) for r in rows]
        return self._page(cursor, 0, size)

    def _page(self, cursor, offset, size):
        rows = self._cursors[cursor]
        page = rows[offset : offset + size]
        done = offset + size >= len(rows)
        document = {"totalSize": len(rows), "done": done, "records": page}
        if not done:
            document["nextRecordsUrl"] = f"{DATA}/query/{cursor}-{offset + size}-{size}"
        return 200, {}, document

    def _next_page(self, locator):
        try:
            cursor, offset, size = locator.rsplit("-", 2)
            return self._page(cursor, int(offset), int(size))
        except (KeyError, ValueError):
            return 400, {}, [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "bad locator"}]

    def _get_deleted(self, sobject, query):
        start = parse_stamp(query["start"][0])
        end = parse_stamp(query["end"][0])
        if start < self.earliest_deleted:
            return 400, {}, [{"errorCode": "INVALID_REPLICATION_DATE", "message": "too old"}]
        return (
            200,
            {},
            {
                "deletedRecords": [
                    {"id": record_id, "deletedDate": stamp(moment)}
                    for name, record_id, moment in self.deleted
                    if name == sobject and start <= moment <= end
                ],
                "earliestDateAvailable": stamp(self.earliest_deleted),
                "latestDateCovered": stamp(end),
            },
        )

    # -- sObjects ----------------------------------------------------------------
    def _sobject(self, method, sobject, key, value, document):
        table = self.records.setdefault(sobject, {})
        if key and value:  # upsert (or GET) by external id
            found = next((r for r in table.values() if str(r.get(key)) == unquote(value)), None)
            if method == "GET":
                return (200, {}, dict(found)) if found else self._not_found()
            if method != "PATCH":
                return 405, {}, [{"errorCode": "METHOD_NOT_ALLOWED", "message": method}]
            if found:
                self.update(sobject, found["Id"], **document)
                return 200, {}, {"id": found["Id"], "success": True, "created": False}
            record = self.add(sobject, {**document, key: unquote(value)})
            return 201, {}, {"id": record["Id"], "success": True, "created": True}
        if not key:
            if method != "POST":
                return 405, {}, [{"errorCode": "METHOD_NOT_ALLOWED", "message": method}]
            record = self.add(sobject, document or {})
            return 201, {}, {"id": record["Id"], "success": True, "errors": []}
        record = table.get(key)
        if not record or record["IsDeleted"]:
            return self._not_found()
        if method == "GET":
            return 200, {}, dict(record)
        if method == "PATCH":
            self.update(sobject, key, **document)
            self.patches.append((sobject, key, dict(document)))
            return 204, {}, None
        return 405, {}, [{"errorCode": "METHOD_NOT_ALLOWED", "message": method}]

    @staticmethod
    def _not_found():
        return (
            404,
            {},
            [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
        )

    def _composite(self, document):
        responses, refs = [], {}
        failed = False
        for sub in document.get("compositeRequest") or []:
            url = sub["url"]
            for ref, ref_id in refs.items():
                url = url.replace(f"@{{{ref}.id}}", ref_id)
            if failed and document.get("allOrNone"):
                status, payload = 400, [{"errorCode": "PROCESSING_HALTED", "message": "halted"}]
            else:
                path, _sep, query = url.partition("?")
                status, _headers, payload = self._api(
                    sub["method"],
                    path[len(DATA) :],
                    parse_qs(query),
                    {},
                    json.dumps(sub.get("body")).encode() if sub.get("body") is not None else b"",
                )
                failed = failed or status >= 400
                if isinstance(payload, dict) and payload.get("id"):
                    refs[sub["referenceId"]] = payload["id"]
            responses.append(
                {
                    "body": payload,
                    "httpHeaders": {},
                    "httpStatusCode": status,
                    "referenceId": sub["referenceId"],
                }
            )
        return 200, {}, {"compositeResponse": responses}

    # -- Bulk API 2.0 --------------------------------------------------------------
    def _bulk(self, method, path, query, document):
        parts = path.strip("/").split("/")  # jobs, query[, id[, results]]
        if method == "POST" and len(parts) == 2:
            try:
                fields, rows = self._select(document["query"], False)
            except (ValueError, KeyError):
                return 400, {}, [{"errorCode": "INVALIDJOB", "message": "unsupported query"}]
            job_id = f"750SIM{next(self._seq):09d}"
            self._jobs[job_id] = {
                "fields": fields,
                "rows": [self._project(r, fields) for r in rows],
                "polls": self.bulk_polls,
            }
            return 200, {}, {"id": job_id, "operation": "query", "state": "UploadComplete"}
        job = self._jobs.get(parts[2]) if len(parts) > 2 else None
        if not job:
            return self._not_found()
        if len(parts) == 3:
            job["polls"] -= 1
            state = "JobComplete" if job["polls"] < 0 else "InProgress"
            return (
                200,
                {},
                {"id": parts[2], "state": state, "numberRecordsProcessed": len(job["rows"])},
            )
        if job["polls"] >= 0:
            return 400, {}, [{"errorCode": "INVALIDJOB", "message": "job not complete"}]
        size = int(query.get("maxRecords", ["50000"])[0])
        offset = int(query.get("locator", ["0"])[0] or 0)
        part = job["rows"][offset : offset + size]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(job["fields"])
        for row in part:
            writer.writerow(
                ["" if row.get(f) is None else _csv_value(row.get(f)) for f in job["fields"]]
            )
        more = offset + size < len(job["rows"])
        headers = {
            "Content-Type": "text/csv",
            "Sforce-Locator": str(offset + size) if more else "null",
            "Sforce-NumberOfRecords": str(len(part)),
        }
        return 200, headers, out.getvalue().encode()


def _csv_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+0000", value):
        return value.replace("+0000", "Z")  # Bulk 2.0 writes datetimes in ISO 8601 UTC
    return str(value)


def demo_simulator(port=0):
    """The accounts of the demo connector (client credentials flow), with the Ids of
    finsync_crm's demo data: Northwind's phone as sales last changed it."""
    sim = SalesforceSimulator(client_secret=DEMO_CLIENT_SECRET, port=port)
    rows = [
        ("001DEMO00000000001", "Northwind Traders", "Rue de la Loi 16", "Brussels", "1000",
         "Belgium", "+32 2 555 99 99", "www.northwind.example.com"),
        ("001DEMO00000000002", "Contoso Consulting", "Keizersgracht 1", "Amsterdam", "1015 CC",
         "Netherlands", "+31 20 555 0101", "www.contoso.example.com"),
        ("001DEMO00000000003", "Azure Interior", "4557 De Silva St", "Fremont", "94538",
         "United States", "+1 870-931-0505", "www.azure-interior.example.com"),
    ]  # fmt: skip
    for sf_id, name, street, city, zip_code, country, phone, website in rows:
        sim.add_account(
            name,
            Id=sf_id,
            BillingStreet=street,
            BillingCity=city,
            BillingPostalCode=zip_code,
            BillingCountry=country,
            Phone=phone,
            Website=website,
        )
    sim.add_contact(
        "001DEMO00000000001",
        "Alex",
        "Northwind",
        Id="003DEMO00000000001",
        Email="alex@northwind.example.com",
        Title="CFO",
    )
    return sim


def main():
    parser = argparse.ArgumentParser(description="FinSync Salesforce API simulator (demo data)")
    parser.add_argument("--port", type=int, default=8096)
    args = parser.parse_args()
    demo_simulator(args.port).serve_until_interrupted("Salesforce simulator on {url}")


if __name__ == "__main__":
    main()
