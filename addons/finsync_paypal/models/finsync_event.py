import json

import psycopg2

from odoo import fields, models
from odoo.exceptions import UserError

from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters import paypal_mapper, paypal_reports

DATE_ORDERS = [("dmy", "Day first (31/12/2026)"), ("mdy", "Month first (12/31/2026)")]


class FinsyncEvent(models.Model):
    _inherit = "finsync.event"

    paypal_date_order = fields.Selection(
        DATE_ORDERS,
        string="PayPal Date Order",
        readonly=True,
        help="How the dates of an imported PayPal activity export read, when the file cannot tell.",
    )

    def _process_payload_paypal(self):
        """A webhook event, a pulled page, PayPal's balances or a report file.

        Pages, webhooks and reports all become canonical transactions keyed by
        PayPal's transaction id, booked once. A delivery that loses a unique-key
        race to a concurrent one (the same payment told by a webhook and a pull
        at once) is retried by its job; it then finds the transaction and
        changes only what it adds.
        """
        raw = self._get_raw_payload()
        if self.event_type == "report":
            vals_list = self._paypal_parse_report(raw)
        else:
            try:
                document = json.loads(raw)
            except ValueError as err:
                raise UserError(
                    self.env._("Event %(name)s: the payload is not JSON.", name=self.name)
                ) from err
            if self.event_type == "balances":
                return self.backend_id._paypal_apply_balances(document, self)
            try:
                if self.event_type == "transactions":
                    vals_list = paypal_mapper.map_page(document)
                else:
                    vals_list = paypal_mapper.map_webhook_event(document)
            except (paypal_mapper.PayPalMappingError, KeyError, TypeError) as err:
                raise UserError(
                    self.env._("Event %(name)s: %(problem)s", name=self.name, problem=str(err))
                ) from err
        try:
            with self.env.cr.savepoint():
                return self.env["finsync.transaction"]._gateway_apply(self, vals_list, "paypal")
        except psycopg2.errors.UniqueViolation as err:
            raise RetryableJobError(
                self.env._("Event %(name)s raced another delivery", name=self.name), seconds=2
            ) from err

    def _paypal_parse_report(self, raw):
        filename = self.payload_filename or self.name
        try:
            result = paypal_reports.parse_report(raw, filename, self.paypal_date_order)
        except paypal_reports.PayPalReportError as err:
            raise UserError(
                self.env._(
                    "PayPal report %(file)s: %(problem)s",
                    file=err.filename,
                    problem=str(err).removeprefix(f"{err.filename}: "),
                )
            ) from err
        return result.rows
