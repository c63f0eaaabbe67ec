from odoo import Command, api, models

# (partner xml id, bank account, [(move type, payment reference, amount)]):
# the open items that finsync_bank/demo/demo_statement_camt053.xml pays, so
# that importing it shows every outcome of matching.
DEMO_ITEMS = [
    (
        "base.res_partner_2",
        "BE71096123456769",
        [
            ("out_invoice", "FSD/2026/0001", 1250.00),  # paid by reference
            ("out_invoice", "FSD/2026/0006", 1500.00),  # paid in part (1,100.00)
        ],
    ),
    (
        "base.res_partner_12",
        "BE23310000000001",
        [
            ("out_invoice", "FSD/2026/0002", 480.50),  # reference as people write it
            ("out_invoice", "+++090/9337/55493+++", 88.20),  # Belgian structured reference
        ],
    ),
    (
        "base.res_partner_3",
        "BE45310000000002",
        [
            ("out_invoice", "FSD/2026/0003", 1200.00),  # one transfer for two invoices
            ("out_invoice", "FSD/2026/0004", 800.00),
        ],
    ),
    (
        "base.res_partner_4",
        "BE89310000000004",
        [
            ("out_invoice", "FSD/2026/0005", 1000.00),  # 995.00 received: amount mismatch
        ],
    ),
    (
        "base.res_partner_10",
        "BE12310000000005",
        [
            ("out_invoice", "FSD/2026/0007", 640.00),  # no reference: partner and amount
        ],
    ),
    (
        "base.res_partner_18",
        "BE34310000000006",
        [
            ("out_invoice", "FSD/2026/0008", 300.00),  # two equal invoices: ambiguous
            ("out_invoice", "FSD/2026/0009", 300.00),
        ],
    ),
    (
        "base.res_partner_1",
        "BE67310000000003",
        [
            ("in_invoice", "WC-INV-7781", 315.40),  # vendor bills paid by their number
            ("in_invoice", "WC-INV-7790", 60.00),
        ],
    ),
]


class FinsyncMatchingDemo(models.AbstractModel):
    _inherit = "finsync.matching"

    @api.model
    def _load_matching_demo_data(self):
        """Open invoices and bills the demo bank statement pays (idempotent)."""
        company = self.env.ref("base.main_company")
        moves = self.env["account.move"].search(
            [("company_id", "=", company.id), ("payment_reference", "=", "FSD/2026/0001")]
        )
        if moves:
            return True
        vals_list = []
        for partner_xmlid, iban, items in DEMO_ITEMS:
            partner = self.env.ref(partner_xmlid, raise_if_not_found=False)
            if not partner:
                continue
            if iban not in partner.bank_ids.mapped("acc_number"):
                partner.bank_ids = [Command.create({"acc_number": iban})]
            vals_list += [
                {
                    "move_type": move_type,
                    "company_id": company.id,
                    "partner_id": partner.id,
                    "invoice_date": "2026-09-28",
                    "payment_reference": reference,
                    "ref": reference if move_type == "in_invoice" else False,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": "Demo order",
                                "quantity": 1,
                                "price_unit": amount,
                                "tax_ids": [],
                            }
                        )
                    ],
                }
                for move_type, reference, amount in items
            ]
        moves = self.env["account.move"].with_company(company).create(vals_list)
        moves.action_post()
        return True
