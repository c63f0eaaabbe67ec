import base64

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..models.finsync_bank_importer import UnknownBankAccount, sanitize_account

SAMPLE_ROWS = 5


def _float(amount):
    return float(amount) if amount is not None else False


class FinsyncBankImport(models.TransientModel):
    """Upload bank statement files, preview them, import them whole or not at all.

    The flow is ``finsync.file.import``'s; here are the statement parsers, the
    journal and CSV profile chosen by the user and the preview per statement.
    """

    _name = "finsync.bank.import"
    _inherit = "finsync.file.import"
    _description = "Import Bank Statements"

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
    event_ids = fields.Many2many("finsync.event", readonly=True)
    statement_ids = fields.Many2many("account.bank.statement", readonly=True)
    exception_ids = fields.Many2many("finsync.exception", readonly=True)
    missing_account = fields.Char(
        readonly=True, help="The account of a statement no bank journal holds."
    )
    missing_currency = fields.Char(readonly=True)
    can_create_journal = fields.Boolean(compute="_compute_can_create_journal")

    @api.depends("missing_account")
    def _compute_can_create_journal(self):
        is_manager = self.env.user.has_group("finsync_base.group_finsync_manager")
        for wizard in self:
            wizard.can_create_journal = bool(wizard.missing_account and is_manager)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_preview(self):
        self.preview_ids.unlink()
        self.write({"missing_account": False, "missing_currency": False})
        return super().action_preview()

    def action_create_journal(self):
        """Managers: a bank journal for the file's unknown account, then the preview again."""
        self.ensure_one()
        if not self.env.user.has_group("finsync_base.group_finsync_manager"):
            raise AccessError(self.env._("Only FinSync managers create bank journals."))
        if not self.missing_account:
            raise UserError(self.env._("No statement is waiting for a bank journal."))
        company = self.env.company
        currency = company.currency_id
        if self.missing_currency:
            currency = (
                self.env["res.currency"]
                .with_context(active_test=False)
                .search([("name", "=", self.missing_currency)], limit=1)
            )
            if not currency.active:
                raise UserError(
                    self.env._(
                        "Activate the currency %(currency)s before creating its bank journal.",
                        currency=self.missing_currency,
                    )
                )
        # As the manager: Odoo's own access rights on journals apply.
        journal = self.env["account.journal"].create(
            self._prepare_journal_vals(currency, self._company_bank_account(currency))
        )
        self.journal_id = journal
        return self.action_preview()

    def _company_bank_account(self, currency):
        """The company's own bank account with the file's number (created if missing)."""
        partner = self.env.company.partner_id
        # sudo: Odoo lets only contact managers create bank accounts; this one is the
        # company's own, for the journal an accounting manager creates (checked above).
        banks = self.env["res.partner.bank"].sudo()
        number = sanitize_account(self.missing_account)
        bank_account = banks.search(
            [("sanitized_acc_number", "=", number), ("partner_id", "=", partner.id)], limit=1
        )
        return bank_account or banks.create(
            {
                "acc_number": self.missing_account,
                "partner_id": partner.id,
                "currency_id": currency.id,
            }
        )

    def _prepare_journal_vals(self, currency, bank_account):
        company = self.env.company
        return {
            "name": self.env._("Bank %(account)s", account=self.missing_account[-4:].rjust(8, "*")),
            "type": "bank",
            "company_id": company.id,
            "bank_account_id": bank_account.id,
            "currency_id": currency.id if currency != company.currency_id else False,
        }

    def action_view_statements(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("account.action_bank_statement_tree")
        action["domain"] = [("id", "in", self.statement_ids.ids)]
        return action

    # ------------------------------------------------------------------
    # File import steps
    # ------------------------------------------------------------------
    def _get_backend(self):
        return self.env["finsync.backend"]._get_bank_file_backend(
            self.journal_id.company_id or self.env.company
        )

    def _prepare_files(self):
        if not self.attachment_ids:
            raise UserError(self.env._("Add at least one statement file."))
        return [(att.name, base64.b64decode(att.datas or b"")) for att in self.attachment_ids]

    def _profile(self):
        return self.profile_id._to_parser_profile() if self.profile_id else None

    def _import_title(self):
        return self.env._("Import Bank Statements")

    def _reopen(self):
        # The preview's columns need the wide dialog the import opened in.
        action = super()._reopen()
        action["context"] = dict(action.get("context") or {}, dialog_size="extra-large")
        return action

    def _prepare_preview_file(self, filename, data):
        importer = self.env["finsync.bank.importer"]
        result = importer._parse_file(
            filename,
            data,
            profile=self._profile(),
            max_bytes=self._get_backend()._connector().max_file_bytes(),
        )
        try:
            journals = importer._resolve_journals(filename, result.statements, self.journal_id)
        except UnknownBankAccount as err:
            # Kept on the wizard (not rolled back): managers may create the journal.
            self.write({"missing_account": err.account, "missing_currency": err.currency})
            raise
        return self._preview_rows(filename, result, journals)

    def _prepare_preview_vals(self, previews):
        return {"preview_ids": [row for rows in previews for row in rows]}

    def _preview_rows(self, filename, result, journals):
        backend = self._get_backend()
        ids = [tx.unique_id for st in result.statements for tx in st.transactions]
        known = set(
            self.env["finsync.transaction"]
            .search([("backend_id", "=", backend.id), ("external_id", "in", ids)])
            .mapped("external_id")
        )
        codes = {statement.currency for statement in result.statements if statement.currency}
        currencies = {
            currency.name: currency
            for currency in self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "in", list(codes))])
        }
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
                        "currency_id": (
                            currencies.get(statement.currency)
                            or journal.currency_id
                            or journal.company_id.currency_id
                            or self.env.company.currency_id
                        ).id,
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

    def _prepare_event_vals(self, filename, data):
        return dict(super()._prepare_event_vals(filename, data), event_type="statement_file")

    def _prepare_processing_vals(self):
        return {"bank_journal_id": self.journal_id.id, "bank_profile_id": self.profile_id.id}

    def _prepare_done_vals(self, events, fresh, results):
        new = sum(result["new"] for result in results)
        duplicate = sum(result["duplicate"] for result in results)
        duplicate += sum(e.lines_new + e.lines_duplicate for e in events - fresh)
        jobs = [job for result in results for job in result["jobs"]]
        message = self.env._(
            "%(new)s new, %(duplicate)s already imported.", new=new, duplicate=duplicate
        )
        if len(jobs) == 1:
            message += " " + self.env._(
                "The lines are being posted to the journal by a background job."
            )
        elif jobs:
            message += " " + self.env._(
                "The lines are being posted to the journal by %(count)s background jobs.",
                count=len(jobs),
            )
        statements = self.env["account.bank.statement"].union(
            *(result["statements"] for result in results)
        )
        exceptions = self.env["finsync.exception"].union(
            *(result["exceptions"] for result in results)
        )
        return {
            "message": message,
            "event_ids": [Command.set(events.ids)],
            "statement_ids": [Command.set(statements.ids)],
            "exception_ids": [Command.set(exceptions.ids)],
        }


class FinsyncBankImportPreview(models.TransientModel):
    _name = "finsync.bank.import.preview"
    _description = "Bank Statement Import Preview"

    wizard_id = fields.Many2one("finsync.bank.import", required=True, ondelete="cascade")
    filename = fields.Char(string="File")
    file_format = fields.Char(string="Format")
    account = fields.Char()
    journal_id = fields.Many2one("account.journal")
    currency = fields.Char(string="Currency Code")
    currency_id = fields.Many2one(
        "res.currency", string="Currency", help="The file's currency; the journal's if it has none."
    )
    opening_balance = fields.Monetary()
    closing_balance = fields.Monetary()
    line_count = fields.Integer(string="Lines")
    new_count = fields.Integer(string="New")
    duplicate_count = fields.Integer(string="Already Imported", compute="_compute_duplicates")
    warnings = fields.Text()
    sample = fields.Text(string="First Lines")

    @api.depends("line_count", "new_count")
    def _compute_duplicates(self):
        for row in self:
            row.duplicate_count = row.line_count - row.new_count
