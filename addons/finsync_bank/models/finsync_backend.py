from odoo import api, fields, models

from ..components.bank_connectors import BankFileConnector


class FinsyncBackend(models.Model):
    _inherit = "finsync.backend"

    backend_type = fields.Selection(
        selection_add=[("bank_file", "Bank statement files"), ("bank_api", "Bank API")],
        ondelete={"bank_file": "cascade", "bank_api": "cascade"},
    )
    bank_api_watermarks = fields.Json(
        string="Pull Watermarks",
        readonly=True,
        copy=False,
        help="Per bank account, the last change sequence pulled; the next pull resumes there.",
    )
    bank_profile_id = fields.Many2one(
        "finsync.bank.profile",
        string="CSV/XLSX Profile",
        help="How this bank's CSV or Excel files are read.",
    )
    max_file_size_mb = fields.Integer(
        string="Largest File (MB)",
        default=50,
        help="Files over this size are refused before they are read.",
    )
    bank_reads_files = fields.Boolean(
        compute="_compute_bank_reads_files",
        help="A connector of statement files imported by people (a CSV/XLSX profile, "
        "a size limit).",
    )

    @api.depends("backend_type")
    def _compute_bank_reads_files(self):
        for backend in self:
            backend.bank_reads_files = issubclass(backend._connector_class(), BankFileConnector)

    @api.model
    def _get_bank_file_backend(self, company):
        """The company's connector for imported statement files (created on first use)."""
        backend = self.search(
            [("backend_type", "=", "bank_file"), ("company_id", "=", company.id)], limit=1
        )
        if not backend:
            # sudo: accountants import files; only admins create connectors by hand.
            backend = (
                self.sudo()
                .create(
                    {
                        "name": self.env._("Bank statement files"),
                        "backend_type": "bank_file",
                        "company_id": company.id,
                    }
                )
                .sudo(False)
            )
        return backend

    @api.model
    def _load_bank_demo_data(self):
        """A bank journal for the IBAN of demo/demo_statement_camt053.xml (idempotent)."""
        company = self.env.ref("base.main_company")
        iban = "BE68539007547034"
        bank_account = self.env["res.partner.bank"].search(
            [("sanitized_acc_number", "=", iban), ("partner_id", "=", company.partner_id.id)]
        ) or self.env["res.partner.bank"].create(
            {"acc_number": iban, "partner_id": company.partner_id.id}
        )
        if not self.env["account.journal"].search([("bank_account_id", "=", bank_account.id)]):
            self.env["account.journal"].create(
                {
                    "name": "FinSync Demo Bank",
                    "code": "FSDB",
                    "type": "bank",
                    "company_id": company.id,
                    "bank_account_id": bank_account.id,
                }
            )
        return True
