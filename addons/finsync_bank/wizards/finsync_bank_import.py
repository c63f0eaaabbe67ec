import base64
import logging

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.finsync_base.models.finsync_event import CONCURRENCY_ERRORS

_logger = logging.getLogger(__name__)


SAMPLE_ROWS = 5


def _float(amount):
    return float(amount) if amount is not None else False


class FinsyncBankImport(models.TransientModel):
    """Upload bank statement files, preview them, import them whole or not at all."""

    _name = "finsync.bank.import"
    _description = "Import Bank Statements"

    state = fields.Selection(
        [("upload", "Upload"), ("preview", "Preview"), ("done", "Done"), ("error", "Error")],
        default="upload",
        required=True,
    )
    attachment_ids = fields.Many2many(
        "ir.attachment", string="Files", help="OFX, QFX, CAMT (XML or zip), MT940, BAI2, CSV, XLSX"
    )
    journal_id = fields.Many2one(
        "account.journal",
        domain="[('type', '=', 'bank')]",
        help="Leave empty to find each statement's journal from its account number.",
    )
    profile_id = fields.Many2one(
        "finsync.bank.profile",
        string="CSV/XLSX Profile",
        help="Needed for CSV and Excel files only.",
    )
    preview_ids = fields.One2many("finsync.bank.import.preview", "wizard_id", readonly=True)
    message = fields.Text(readonly=True)
    event_ids = fields.Many2many("finsync.event", readonly=True)
    statement_ids = fields.Many2many("account.bank.statement", readonly=True)
    exception_ids = fields.Many2many("finsync.exception", readonly=True)

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _files(self):
        if not self.attachment_ids:
            raise UserError(self.env._("Add at least one statement file."))
        return [(att.name, base64.b64decode(att.datas or b"")) for att in self.attachment_ids]

    def _profile(self):
        return self.profile_id._to_parser_profile() if self.profile_id else None

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Import Bank Statements"),
        }

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_preview(self):
        """Parse every file and show what would be imported; nothing is written."""
        self.ensure_one()
        importer = self.env["finsync.bank.importer"]
        self.preview_ids.unlink()
        try:
            rows = []
            backend = self._backend()
            for filename, data in self._files():
                result = importer._parse_file(
                    filename,
                    data,
                    profile=self._profile(),
                    max_bytes=backend.max_file_size_mb * 1024 * 1024,
                )
                journals = importer._resolve_journals(filename, result.statements, self.journal_id)
                rows += self._preview_rows(filename, result, journals)
        except UserError as err:
            self.write({"state": "error", "message": err.args[0]})
            return self._reopen()
        self.write({"state": "preview", "message": False, "preview_ids": rows})
        return self._reopen()

    def _preview_rows(self, filename, result, journals):
        backend = self._backend()
        ids = [tx.unique_id for st in result.statements for tx in st.transactions]
        known = set(
            self.env["finsync.transaction"]
            .search([("backend_id", "=", backend.id), ("external_id", "in", ids)])
            .mapped("external_id")
        )
        rows = []
        for statement, journal in zip(result.statements, journals, strict=True):
            count = len(statement.transactions)
            new = sum(1 for tx in statement.transactions if tx.unique_id not in known)
            rows.append(
                Command.create(
                    {
                        "filename": filename,
                        "file_format": result.format,
                        "account": statement.account,
                        "journal_id": journal.id,
                        "currency": statement.currency,
                        "opening_balance": _float(statement.opening_balance),
                        "closing_balance": _float(statement.closing_balance),
                        "line_count": count,
                        "new_count": new,
                        "warnings": "\n".join(w.message for w in statement.warnings) or False,
                        "sample": self._sample_text(statement.transactions[:SAMPLE_ROWS]),
                    }
                )
            )
        return rows

    def _sample_text(self, transactions):
        return "\n".join(
            " | ".join(
                str(part)
                for part in (
                    tx.booking_date or "",
                    tx.amount,
                    tx.counterparty_name or "",
                    tx.remittance or "",
                )
            )
            for tx in transactions
        )

    def action_import(self):
        """Import every file in one transaction; on error nothing but the inbox is kept.

        Any error (a parser's, the database's) becomes one line naming the file;
        the files stay in the inbox as failed events, each with its exception.
        """
        self.ensure_one()
        files = self._files()
        try:
            with self.env.cr.savepoint():
                summary = self._import_files(files)
        except UserError as err:
            self._keep_failed_files(files, err.args[0])
            self.write({"state": "error", "message": err.args[0]})
            return self._reopen()
        message = self.env._(
            "%(new)s new, %(duplicate)s already imported.",
            new=summary["new"],
            duplicate=summary["duplicate"],
        )
        if summary["jobs"]:
            message += " " + self.env._(
                "The lines are being posted to the journal by %(count)s background jobs.",
                count=len(summary["jobs"]),
            )
        self.write(
            {
                "state": "done",
                "message": message,
                "event_ids": [Command.set(summary["events"].ids)],
                "statement_ids": [Command.set(summary["statements"].ids)],
                "exception_ids": [Command.set(summary["exceptions"].ids)],
            }
        )
        return self._reopen()

    def _backend(self):
        return self.env["finsync.backend"]._get_bank_file_backend(
            self.journal_id.company_id or self.env.company
        )

    def _ingest(self, files):
        backend = self._backend()
        events = self.env["finsync.event"]._ingest(
            backend,
            [
                {"payload": data, "filename": name, "name": name, "event_type": "statement_file"}
                for name, data in files
            ],
        )
        fresh = events.filtered(lambda event: event.state != "done")
        fresh._write_processing(
            {"bank_journal_id": self.journal_id.id, "bank_profile_id": self.profile_id.id}
        )
        return events, fresh

    def _import_files(self, files):
        events, fresh = self._ingest(files)
        summary = {
            "new": 0,
            "duplicate": sum(e.lines_new + e.lines_duplicate for e in events - fresh),
            "events": events,
            "statements": self.env["account.bank.statement"],
            "exceptions": self.env["finsync.exception"],
            "jobs": [],
        }
        for event in fresh:
            try:
                result = event._process_payload()
            except (UserError, *CONCURRENCY_ERRORS):
                raise
            except Exception as err:  # any other error is this file's
                raise UserError(
                    self.env["finsync.bank.importer"]._unexpected_error_message(event.name, err)
                ) from err
            summary["new"] += result["new"]
            summary["duplicate"] += result["duplicate"]
            summary["statements"] |= result["statements"]
            summary["exceptions"] |= result["exceptions"]
            summary["jobs"] += result["jobs"]
        fresh._write_processing(
            {"state": "done", "processed_at": fields.Datetime.now(), "attempts": 1}
        )
        fresh.backend_id._mark_sync_success()
        return summary

    def _keep_failed_files(self, files, message):
        """Keep the raw files in the inbox, failed with an exception, to be replayed."""
        events, fresh = self._ingest(files)
        fresh._record_failure(UserError(message))
        _logger.info("FinSync bank import failed for events %s", fresh.ids)

    def action_view_statements(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("account.action_bank_statement_tree")
        action["domain"] = [("id", "in", self.statement_ids.ids)]
        return action


class FinsyncBankImportPreview(models.TransientModel):
    _name = "finsync.bank.import.preview"
    _description = "Bank Statement Import Preview"

    wizard_id = fields.Many2one("finsync.bank.import", required=True, ondelete="cascade")
    filename = fields.Char(string="File")
    file_format = fields.Char(string="Format")
    account = fields.Char()
    journal_id = fields.Many2one("account.journal")
    currency = fields.Char()
    opening_balance = fields.Float(digits=(16, 4))
    closing_balance = fields.Float(digits=(16, 4))
    line_count = fields.Integer(string="Lines")
    new_count = fields.Integer(string="New")
    duplicate_count = fields.Integer(string="Already Imported", compute="_compute_duplicates")
    warnings = fields.Text()
    sample = fields.Text(string="First Lines")

    @api.depends("line_count", "new_count")
    def _compute_duplicates(self):
        for row in self:
            row.duplicate_count = row.line_count - row.new_count
