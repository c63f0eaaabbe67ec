from odoo import Command

from .common import CrmCommon

WON = "Closed Won"


class DealsCommon(CrmCommon):
    """Two products by internal reference, a partner's payment terms and fiscal position."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The invoice path, also when the Sales bridge makes sale orders the default.
        cls.salesforce.write(
            {"crm_currency_field": "CurrencyIsoCode", "crm_billing_document": "invoice"}
        )
        cls.eur = cls.setup_other_currency("EUR")
        cls.widget = cls.env["product.product"].create(
            {
                "name": "Widget",
                "default_code": "FS-WIDGET",
                "list_price": 80.0,
                "taxes_id": [Command.set(cls.tax_sale_a.ids)],
            }
        )
        cls.support = cls.env["product.product"].create(
            {"name": "Support plan", "default_code": "FS-SUPPORT", "list_price": 500.0}
        )

    def bound_account(self, name="Azure Interior"):
        """A Salesforce account pulled as a partner with payment terms and a fiscal position."""
        account = self.account(name)
        self.pull()
        partner = self.binding(account["Id"]).partner_id
        partner.write(
            {
                "property_payment_term_id": self.pay_terms_b.id,
                "property_account_position_id": self.fiscal_pos_a.id,
            }
        )
        return account, partner

    def opportunity(self, account, name="Azure renewal", stage="Prospecting", lines=None, **values):
        values.setdefault("CurrencyIsoCode", "EUR")
        opp = self.sim.add_opportunity(account["Id"], name, stage=stage, **values)
        for code, quantity, price, discount in lines or [("FS-WIDGET", 3, 120.0, 10.0)]:
            self.sim.add_line_item(opp["Id"], code, quantity, price, Discount=discount)
        return opp

    def win(self, opp):
        self.sim.update("Opportunity", opp["Id"], StageName=WON, IsWon=True)

    def deal(self, opp):
        return self.env["finsync.crm.deal"].search(
            [("backend_id", "=", self.salesforce.id), ("sf_id", "=", opp["Id"])]
        )

    def invoices(self, partner):
        return self.env["account.move"].search(
            [("partner_id", "=", partner.id), ("move_type", "=", "out_invoice")]
        )
