import base64
import logging

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..adapters import paypal_reports
from ..models.finsync_event import DATE_ORDERS

_logger = logging.getLogger(__name__)


class FinsyncPaypalImport(models.TransientModel):
    """Import PayPal's activity exports and settlement reports, whole or not at all.

    For accounts without API access. The file is kept in the inbox either way
    (a failed import as a failed event, to fix and replay); its transactions are
    the same ones a pull would create, keyed by PayPal's transaction id, so a
    file imported twice, or a file and a pull, book nothing twice.
    """

    _name = "finsync.paypal.import"
    _description = "Import PayPal Reports"

    state = fields.Selection(
        [("upload", "Upload"), ("preview", "Preview"), ("done", "Done"), ("error", "Error")],
        default="upload",
        required=True,
    )
    backend_id = fields.Many2one(
        "finsync.backend",
        string="PayPal Connector",
        required=True,
        domain="[('backend_type', '=', 'paypal')]",
        default=lambda self: self._default_backend(),
    )
    data_file = fields.Binary(string="File", required=True)
    filename = fields.Char()
    date_order = fields.Selection(
        DATE_ORDERS,
        help="Only for activity exports whose dates do not tell (no day above 12).",
    )
    file_format = fields.Char(readonly=True)
    line_count = fields.Integer(readonly=True)
    new_count = fields.Integer(readonly=True)
    currencies = fields.Char(readonly=True)
    warnings = fields.Text(readonly=True)
    message = fields.Text(readonly=True)
    event_id = fields.Many2one("finsync.event", readonly=True)
    transaction_ids = fields.Many2many("finsync.transaction", readonly=True)

    @api.model
    def _default_backend(self):
        return self.env["finsync.backend"].search(
            [("backend_type", "=", "paypal"), ("company_id", "in", self.env.companies.ids)],
            limit=1,
        )

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Import PayPal Reports"),
        }

    def _raw(self):
        if not self.data_file:
            raise UserError(self.env._("Choose a PayPal report file."))
        return base64.b64decode(self.data_file)

    def _name_of_file(self):
        return self.filename or "paypal.csv"

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_preview(self):
        """Read the file and say what it holds; nothing is written."""
        self.ensure_one()
        try:
            result = paypal_reports.parse_report(
                self._raw(), self._name_of_file(), self.date_order or None
            )
        except paypal_reports.PayPalReportError as err:
            self.write({"state": "error", "message": str(err)})
            return self._reopen()
        ids = [row["external_id"] for row in result.rows]
        known = self.env["finsync.transaction"].search_count(
            [("backend_id", "=", self.backend_id.id), ("external_id", "in", ids)]
        )
        self.write(
            {
                "state": "preview",
                "message": False,
                "file_format": result.format,
                "line_count": len(ids),
                "new_count": len(ids) - known,
                "currencies": ", ".join(sorted({row["currency"] for row in result.rows})),
                "warnings": "\n".join(result.warnings) or False,
            }
        )
        return self._reopen()

    def action_import(self):
        """Import the file in one transaction; on error only the inbox keeps it."""
        self.ensure_one()
        raw = self._raw()
        try:
            with self.env.cr.savepoint():
                event = self._ingest(raw)
                if event.state == "done":
                    transactions = event.transaction_ids
                    message = self.env._(
                        "This file was already imported (%(name)s): nothing new.", name=event.name
                    )
                else:
                    transactions = event._paypal_import_now()
                    message = self.env._(
                        "%(count)s transactions read from %(file)s.",
                        count=len(transactions),
                        file=self._name_of_file(),
                    )
        except UserError as err:
            self._keep_failed_file(raw, err.args[0])
            self.write({"state": "error", "message": err.args[0]})
            return self._reopen()
        self.write(
            {
                "state": "done",
                "message": message,
                "event_id": event.id,
                "transaction_ids": [Command.set(transactions.ids)],
            }
        )
        return self._reopen()

    def action_view_transactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_base.action_finsync_transaction"
        )
        action["domain"] = [("id", "in", self.transaction_ids.ids)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _ingest(self, raw):
        event = self.env["finsync.event"]._ingest(
            self.backend_id,
            [
                {
                    "payload": raw,
                    "filename": self._name_of_file(),
                    "name": self._name_of_file(),
                    "event_type": "report",
                }
            ],
        )
        if event.state != "done":
            event._write_processing({"paypal_date_order": self.date_order or False})
        return event

    def _keep_failed_file(self, raw, message):
        """The raw file stays in the inbox as a failed event, to fix and replay."""
        event = self._ingest(raw)
        if event.state in ("received", "queued", "failed"):
            event._record_failure(UserError(message))
        _logger.info("FinSync PayPal import of event %s failed", event.id)
        return event
