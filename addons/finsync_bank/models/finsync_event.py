import json

from odoo import fields, models
from odoo.exceptions import UserError

from ..adapters import bank_api_mapper
from ..parsers.base import ParsedStatement


class FinsyncEvent(models.Model):
    _inherit = "finsync.event"

    bank_journal_id = fields.Many2one(
        "account.journal",
        string="Bank Journal",
        readonly=True,
        help="The journal chosen at import; empty when found from the account number.",
    )
    bank_profile_id = fields.Many2one("finsync.bank.profile", string="CSV Profile", readonly=True)
    lines_new = fields.Integer(string="New Lines", readonly=True)
    lines_duplicate = fields.Integer(string="Lines Already Imported", readonly=True)
    bank_reads_files = fields.Boolean(related="backend_id.bank_reads_files")
    bank_account_number = fields.Char(
        string="Bank Account", readonly=True, help="The account a bank API page belongs to."
    )
    bank_account_currency = fields.Char(readonly=True)
    bank_posting_note = fields.Char(
        readonly=True, help="Why the pulled lines were not posted to a bank journal."
    )
    statement_ids = fields.Many2many(
        "account.bank.statement", string="Bank Statements", readonly=True, copy=False
    )

    def _process_payload_bank_file(self):
        """A statement file: transactions, Odoo statements and continuity checks."""
        profile_record = self.bank_profile_id or self.backend_id.bank_profile_id
        profile = profile_record._to_parser_profile() if profile_record else None
        summary = self.env["finsync.bank.importer"]._import_event(
            self, journal=self.bank_journal_id or None, profile=profile
        )
        self._write_processing(
            {
                "lines_new": summary["new"],
                "lines_duplicate": summary["duplicate"],
                "statement_ids": [fields.Command.link(st.id) for st in summary["statements"]],
            }
        )
        return summary

    def _process_payload_bank_api(self):
        """A page of the bank API: transactions, or payment status changes."""
        page = json.loads(self._get_raw_payload())
        try:
            if self.event_type == "payments":
                vals_list = bank_api_mapper.map_payments(page)
            else:
                account = self.external_id.split(":")[1]
                vals_list = bank_api_mapper.map_transactions(page, account)
        except bank_api_mapper.BankApiMappingError as err:
            raise UserError(
                self.env._("Event %(name)s: %(problem)s", name=self.name, problem=str(err))
            ) from err
        created = self.env["finsync.transaction"]._upsert_canonical(self, vals_list)
        if self.event_type != "payments":
            self._post_api_transactions(created)
        return created

    def _post_api_transactions(self, transactions):
        """Booked lines pulled from a bank API become a statement of their journal.

        Without a journal for the account they stay canonical transactions (to
        be matched or posted later) and the event says why.
        """
        booked = transactions.filtered(lambda tx: tx.state == "settled")
        if not booked:
            return
        statement = ParsedStatement(
            account=self.bank_account_number, currency=self.bank_account_currency
        )
        try:
            [journal] = self.env["finsync.bank.importer"]._resolve_journals(self.name, [statement])
        except UserError as err:
            self._write_processing({"bank_posting_note": err.args[0]})
            return
        bank_statement = self.env["account.bank.statement"].create(
            {"name": self.name, "journal_id": journal.id}
        )
        booked.write({"bank_statement_id": bank_statement.id, "bank_journal_id": journal.id})
        booked._post_statement_lines()
        self._write_processing({"statement_ids": [fields.Command.link(bank_statement.id)]})
