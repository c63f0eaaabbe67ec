import base64

from odoo.addons.finsync_base.tests.common import FinsyncCommon

IBAN = "NL91ABNA0417164300"


class BankImportCommon(FinsyncCommon):
    """The company's bank journal carries ``IBAN``; files go through the import wizard."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.journal = cls.company_data["default_journal_bank"]
        cls.journal.bank_account_id = cls.env["res.partner.bank"].create(
            {"acc_number": IBAN, "partner_id": cls.env.company.partner_id.id}
        )
        cls.currency = cls.journal.currency_id or cls.env.company.currency_id

    def _wizard(self, *files, journal=None):
        attachments = self.env["ir.attachment"].create(
            [
                {"name": name, "datas": base64.b64encode(data), "res_model": "finsync.bank.import"}
                for name, data in files
            ]
        )
        return self.env["finsync.bank.import"].create(
            {"attachment_ids": [(6, 0, attachments.ids)], "journal_id": journal and journal.id}
        )

    def _import(self, *files, journal=None):
        wizard = self._wizard(*files, journal=journal)
        wizard.action_preview()
        self.assertEqual(wizard.state, "preview", wizard.message)
        wizard.action_import()
        return wizard
