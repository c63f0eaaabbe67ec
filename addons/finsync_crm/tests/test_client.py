from unittest.mock import Mock

import requests

from odoo.tests import BaseCase, tagged

from ..adapters.salesforce_client import (
    API_VERSION,
    JWT_GRANT,
    SalesforceClient,
    SalesforceError,
    SalesforceTransientError,
)
from .common import CLIENT_ID, CLIENT_SECRET, PRIVATE_KEY, USERNAME, generate_key_pair, simulator


@tagged("post_install", "-at_install")
class TestSalesforceClient(BaseCase):
    def setUp(self):
        super().setUp()
        self.sim = simulator(page_size=50).start()
        self.addCleanup(self.sim.stop)
        self.sleeps = []

    def client(self, **kwargs):
        kwargs.setdefault("flow", "jwt")
        kwargs.setdefault("username", USERNAME)
        kwargs.setdefault("private_key", PRIVATE_KEY)
        return SalesforceClient(self.sim.url, CLIENT_ID, sleep=self.sleeps.append, **kwargs)

    def test_jwt_bearer_flow_signs_with_the_connected_app_key(self):
        self.sim.add_account("Azure Interior")
        client = self.client()
        [page] = client.query("SELECT Id, Name, SystemModstamp FROM Account")
        self.assertEqual(page["records"][0]["Name"], "Azure Interior")
        self.assertEqual(self.sim.token_grants, [JWT_GRANT])
        self.assertEqual(client.instance_url, self.sim.url)
        self.assertTrue(
            all(
                path.startswith(f"/services/data/{API_VERSION}/")
                for _m, path, _q in self.sim.requests[1:]
            ),
            "the API version is pinned on every call",
        )

    def test_jwt_signed_with_another_key_is_refused(self):
        other_key, _public = generate_key_pair()
        with self.assertRaises(SalesforceError) as caught:
            self.client(private_key=other_key).authenticate()
        self.assertNotIsInstance(caught.exception, SalesforceTransientError)
        self.assertEqual(caught.exception.code, "invalid_grant")
        self.assertNotIn("BEGIN", str(caught.exception), "never the key in a message")

    def test_client_credentials_flow(self):
        client = self.client(flow="client_credentials", client_secret=CLIENT_SECRET)
        self.assertEqual(client.count("SELECT COUNT() FROM Account"), 0)
        self.assertEqual(self.sim.token_grants, ["client_credentials"])
        with self.assertRaises(SalesforceError):
            self.client(flow="client_credentials", client_secret="wrong").authenticate()

    def test_expired_token_is_renewed_once(self):
        client = self.client()
        client.authenticate()
        self.sim.expire_tokens()
        self.assertEqual(client.count("SELECT COUNT() FROM Account"), 0)
        self.assertEqual(client.token_requests, 2, "renewed once, then the call succeeded")
        self.sim.token_ttl = -60  # every token is born expired: renew once, then give up
        self.sim.expire_tokens()
        with self.assertRaises(SalesforceError) as caught:
            client.count("SELECT COUNT() FROM Account")
        self.assertEqual(caught.exception.code, "INVALID_SESSION_ID")
        self.assertEqual(client.token_requests, 3)

    def test_token_is_kept_in_the_store_between_clients(self):
        store = Mock()
        store.load.return_value = None
        client = self.client(token_store=store)
        client.authenticate()
        store.save.assert_called_once_with(client.access_token, self.sim.url)
        store.load.return_value = (client.access_token, self.sim.url)
        again = self.client(token_store=store)
        again.count("SELECT COUNT() FROM Account")
        self.assertEqual(again.token_requests, 0, "the stored token is used")

    def test_query_follows_next_records_url(self):
        for index in range(120):
            self.sim.add_account(f"Account {index:03d}")
        pages = list(self.client().query("SELECT Id, Name, SystemModstamp FROM Account"))
        self.assertEqual([len(page["records"]) for page in pages], [50, 50, 20])
        ids = [record["Id"] for page in pages for record in page["records"]]
        self.assertEqual(len(set(ids)), 120)
        paths = [path for _m, path, _q in self.sim.requests if "/query" in path]
        self.assertEqual(paths[0], f"/services/data/{API_VERSION}/query")
        self.assertTrue(all("/query/01g" in path for path in paths[1:]))

    def test_bulk_query_polls_and_follows_the_locator(self):
        self.sim.bulk_polls = 2
        for index in range(120):
            self.sim.add_account(f"Account {index:03d}", Phone=f"+32 {index}")
        parts = list(
            self.client().bulk_query(
                "SELECT Id, Name, Phone, SystemModstamp FROM Account", part_size=50
            )
        )
        self.assertEqual([len(rows) for rows in parts], [50, 50, 20])
        self.assertEqual(self.sleeps, [0.5, 1], "polled until JobComplete, sooner first")
        self.assertEqual(parts[0][0]["Name"], "Account 000")
        self.assertTrue(parts[0][0]["SystemModstamp"].endswith("Z"))
        locators = [
            q.get("locator") for _m, path, q in self.sim.requests if path.endswith("/results")
        ]
        self.assertEqual(locators, [None, ["50"], ["100"]])

    def test_a_long_bulk_job_is_polled_less_and_less_often_then_given_up(self):
        """Waits double up to 10 s (few API calls for a long job); after about 5 minutes
        of waiting the pull stops with a transient error (its job retries later)."""
        self.sim.bulk_polls = 10**6
        self.sim.add_account("Slow Job Industries")
        with self.assertRaises(SalesforceTransientError):
            list(self.client().bulk_query("SELECT Id, Name FROM Account"))
        self.assertEqual(self.sleeps[:7], [0.5, 1, 2, 4, 8, 10, 10])
        self.assertEqual(max(self.sleeps), 10)
        self.assertGreaterEqual(sum(self.sleeps), 300)
        self.assertLess(len(self.sleeps), 40, "a 5-minute job costs about 35 polls, not 150")

    def test_limit_info_is_tracked_and_limit_exceeded_is_transient(self):
        client = self.client()
        client.count("SELECT COUNT() FROM Account")
        self.assertEqual((client.api_used, client.api_max), (1, 15000))
        self.sim.limit_exceeded_next(1)
        with self.assertRaises(SalesforceTransientError) as caught:
            client.count("SELECT COUNT() FROM Account")
        self.assertEqual(caught.exception.code, "REQUEST_LIMIT_EXCEEDED")
        self.assertTrue(caught.exception.retry_after)
        self.assertEqual(self.sleeps, [], "not retried in the request: the job backs off")

    def test_outages_back_off_then_become_transient(self):
        client = self.client()
        self.sim.fail_next(10, status=503, path_part="/query")
        with self.assertRaises(SalesforceTransientError) as caught:
            client.count("SELECT COUNT() FROM Account")
        self.assertEqual(caught.exception.status, 503)
        self.assertEqual(self.sleeps, [1, 2, 4])

    def test_every_request_has_a_timeout(self):
        session = Mock()
        session.request.side_effect = requests.Timeout("read timed out")
        client = SalesforceClient(
            "http://127.0.0.1:9",
            CLIENT_ID,
            flow="client_credentials",
            client_secret=CLIENT_SECRET,
            session=session,
            sleep=self.sleeps.append,
        )
        with self.assertRaises(SalesforceTransientError):
            client.authenticate()
        self.assertEqual(session.request.call_args.kwargs["timeout"], 30)

    def test_writes_by_id_external_id_and_composite(self):
        client = self.client()
        account = self.sim.add_account("Azure Interior")
        client.update_record("Account", account["Id"], {"Phone": "+32 1"})
        self.assertEqual(self.sim.records["Account"][account["Id"]]["Phone"], "+32 1")
        created = client.upsert("Account", "FinSync_Id__c", "P-1", {"Name": "New"})
        self.assertTrue(created["created"])
        again = client.upsert("Account", "FinSync_Id__c", "P-1", {"Name": "Renamed"})
        self.assertEqual((again["id"], again["created"]), (created["id"], False))
        responses = client.composite(
            [
                {
                    "method": "PATCH",
                    "url": f"/services/data/{API_VERSION}/sobjects/Account/{account['Id']}",
                    "referenceId": "acc",
                    "body": {"Phone": "+32 2"},
                }
            ]
        )
        self.assertEqual(responses[0]["httpStatusCode"], 204)
        self.assertEqual(client.get_record("Account", account["Id"])["Phone"], "+32 2")
        self.assertEqual(client.limits()["DailyApiRequests"]["Max"], 15000)
