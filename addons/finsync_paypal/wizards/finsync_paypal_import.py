import base64

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..adapters import paypal_reports
from ..models.finsync_event import DATE_ORDERS


class FinsyncPaypalImport(models.TransientModel):
    """Import PayPal's activity exports and settlement reports, whole or not at all.

    For accounts without API access. The flow is ``finsync.file.import``'s: the
    file is kept in the inbox either way (a failed import as a failed event, to
    fix and replay); its transactions are the same ones a pull would create,
    keyed by PayPal's transaction id, so a file imported twice, or a file and a
    pull, book nothing twice.
    """

    _name = "finsync.paypal.import"
    _inherit = "finsync.file.import"
    _description = "Import PayPal Reports"

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
    event_id = fields.Many2one("finsync.event", readonly=True)
    transaction_ids = fields.Many2many("finsync.transaction", readonly=True)

    @api.model
    def _default_backend(self):
        return self.env["finsync.backend"].search(
            [("backend_type", "=", "paypal"), ("company_id", "in", self.env.companies.ids)],
            limit=1,
        )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_view_transactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_base.action_finsync_transaction"
        )
        action["domain"] = [("id", "in", self.transaction_ids.ids)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # File import steps
    # ------------------------------------------------------------------
    def _get_backend(self):
        return self.backend_id

    def _prepare_files(self):
        if not self.data_file:
            raise UserError(self.env._("Choose a PayPal report file."))
        return [(self.filename or "paypal.csv", base64.b64decode(self.data_file))]

    def _import_title(self):
        return self.env._("Import PayPal Reports")

    def _prepare_preview_file(self, filename, data):
        try:
            return paypal_reports.parse_report(data, filename, self.date_order or None)
        except paypal_reports.PayPalReportError as err:
            raise UserError(str(err)) from err

    def _prepare_preview_vals(self, previews):
        [result] = previews
        ids = [row["external_id"] for row in result.rows]
        known = self.env["finsync.transaction"].search_count(
            [("backend_id", "=", self.backend_id.id), ("external_id", "in", ids)]
        )
        return {
            "file_format": result.format,
            "line_count": len(ids),
            "new_count": len(ids) - known,
            "currencies": ", ".join(sorted({row["currency"] for row in result.rows})),
            "warnings": "\n".join(result.warnings) or False,
        }

    def _prepare_event_vals(self, filename, data):
        return dict(super()._prepare_event_vals(filename, data), event_type="report")

    def _prepare_processing_vals(self):
        return {"paypal_date_order": self.date_order or False}

    def _prepare_done_vals(self, events, fresh, results):
        if fresh:
            transactions = results[0]
            filename = events.payload_filename or events.name
            message = (
                self.env._("1 transaction read from %(file)s.", file=filename)
                if len(transactions) == 1
                else self.env._(
                    "%(count)s transactions read from %(file)s.",
                    count=len(transactions),
                    file=filename,
                )
            )
        else:
            transactions = events.transaction_ids
            message = self.env._(
                "This file was already imported (%(name)s): nothing new.", name=events.name
            )
        return {
            "message": message,
            "event_id": events.id,
            "transaction_ids": [Command.set(transactions.ids)],
        }
