from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..engine.matcher import OpenItem, OpenItemIndex
from ..models.finsync_matching import _decimal

OUTCOMES = [
    ("agree", "Same as people"),
    ("disagree", "Would reconcile differently"),
    ("propose", "Would only propose"),
    ("ambiguous", "Ambiguous"),
    ("none", "No match"),
]


class FinsyncMatchBacktest(models.TransientModel):
    """Runs one rule over bank lines people reconciled, before the rule goes live.

    The rule sees each line as it was: the open items of today plus the items
    people reconciled with the back-tested lines, with what those lines paid
    put back on them. Nothing is written to the ledger.
    """

    _name = "finsync.match.backtest"
    _description = "FinSync Matching Rule Back-test"

    rule_id = fields.Many2one("finsync.match.rule", string="Rule", required=True)
    days = fields.Integer(
        string="Last N Days", default=90, help="Bank lines booked in this many days up to today."
    )
    state = fields.Selection([("draft", "Draft"), ("done", "Done")], default="draft")
    line_count = fields.Integer(string="Lines Reconciled by People", readonly=True)
    reconcile_count = fields.Integer(string="Would Reconcile", readonly=True)
    agree_count = fields.Integer(string="Same as People", readonly=True)
    disagree_count = fields.Integer(string="Would Reconcile Differently", readonly=True)
    propose_count = fields.Integer(string="Would Propose", readonly=True)
    left_count = fields.Integer(string="Left to People", readonly=True)
    result_ids = fields.One2many("finsync.match.backtest.result", "backtest_id", readonly=True)
    disagreement_ids = fields.One2many(
        "finsync.match.backtest.result",
        "backtest_id",
        domain=[("outcome", "=", "disagree")],
        readonly=True,
    )

    @api.constrains("days")
    def _check_days(self):
        if any(backtest.days <= 0 for backtest in self):
            raise UserError(self.env._("Back-test over at least one day."))

    def action_run(self):
        self.ensure_one()
        rule = self.rule_id
        st_lines = self._people_lines()
        paid = self._paid_by_lines(st_lines)
        matching = self.env["finsync.matching"]
        index = self._index_as_it_was(rule.company_id, paid)
        bank_lines = matching._bank_lines(st_lines)
        engine_rules = [(rule, rule._to_engine_rule())]
        results = []
        for st_line in st_lines:
            decision, _rule = matching._decide(bank_lines[st_line.id], index, engine_rules)
            theirs = self.env["account.move.line"].union(*paid.get(st_line.id, {}))
            ours = self.env["account.move.line"].browse([item.id for item in decision.items])
            outcome = decision.action
            if outcome == "reconcile":
                outcome = "agree" if ours == theirs else "disagree"
            results.append(
                {
                    "st_line_id": st_line.id,
                    "people_items": ", ".join(sorted(set(theirs.move_id.mapped("name")))),
                    "rule_items": ", ".join(sorted(set(ours.move_id.mapped("name")))),
                    "outcome": outcome,
                    "explanation": decision.explanation,
                }
            )
        outcomes = [vals["outcome"] for vals in results]
        self.write(
            {
                "state": "done",
                "result_ids": [Command.clear()] + [Command.create(vals) for vals in results],
                "line_count": len(results),
                "reconcile_count": outcomes.count("agree") + outcomes.count("disagree"),
                "agree_count": outcomes.count("agree"),
                "disagree_count": outcomes.count("disagree"),
                "propose_count": outcomes.count("propose"),
                "left_count": outcomes.count("ambiguous") + outcomes.count("none"),
            }
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Back-test of %(rule)s", rule=rule.display_name),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def _people_lines(self):
        """Reconciled bank lines of the period that no rule reconciled on its own."""
        since = fields.Date.context_today(self) - timedelta(days=self.days)
        st_lines = self.env["account.bank.statement.line"].search(
            [
                ("company_id", "=", self.rule_id.company_id.id),
                ("is_reconciled", "=", True),
                ("date", ">=", since),
            ],
            order="date, id",
        )
        return st_lines.filtered(
            lambda line: "auto" not in line.finsync_transaction_ids.mapped("match_mode")
        )

    @api.model
    def _paid_by_lines(self, st_lines):
        """{statement line id: {open item: amount paid, in the item's currency}}."""
        paid = {}
        counterparts = st_lines.move_id.line_ids.filtered(
            lambda aml: aml.account_id.account_type in ("asset_receivable", "liability_payable")
        )
        for aml in counterparts:
            by_item = paid.setdefault(aml.move_id.statement_line_id.id, {})
            for partial in aml.matched_debit_ids:
                item = partial.debit_move_id
                by_item[item] = by_item.get(item, 0.0) + partial.debit_amount_currency
            for partial in aml.matched_credit_ids:
                item = partial.credit_move_id
                by_item[item] = by_item.get(item, 0.0) + partial.credit_amount_currency
        return paid

    @api.model
    def _index_as_it_was(self, company, paid):
        """Today's open items, plus the items people reconciled with what they paid put back."""
        restored = {}
        for by_item in paid.values():
            for item, amount in by_item.items():
                sign = 1 if item.balance > 0 else -1
                restored[item] = restored.get(item, item.amount_residual_currency) + sign * amount
        current = self.env["finsync.matching"]._open_items(company)
        items = {
            item.id: item
            for bucket in (*current.by_reference.values(), *current.by_partner.values())
            for item in bucket
        }
        for line, residual in restored.items():
            items[line.id] = OpenItem(
                id=line.id,
                reference=line.move_id.name,
                amount=_decimal(residual, line.currency_id),
                currency=line.currency_id.name,
                partner_id=line.partner_id.commercial_partner_id.id or None,
                date=line.date,
                other_references=tuple(
                    ref for ref in (line.move_id.payment_reference, line.move_id.ref) if ref
                ),
            )
        return OpenItemIndex(list(items.values()))


class FinsyncMatchBacktestResult(models.TransientModel):
    _name = "finsync.match.backtest.result"
    _description = "FinSync Back-test Result"
    _order = "outcome, id"

    backtest_id = fields.Many2one("finsync.match.backtest", required=True, ondelete="cascade")
    st_line_id = fields.Many2one("account.bank.statement.line", string="Bank Line", readonly=True)
    date = fields.Date(related="st_line_id.date")
    amount = fields.Monetary(related="st_line_id.amount", currency_field="currency_id")
    currency_id = fields.Many2one(related="st_line_id.currency_id")
    payment_ref = fields.Char(related="st_line_id.payment_ref", string="Label")
    people_items = fields.Char(string="Reconciled by People With", readonly=True)
    rule_items = fields.Char(string="The Rule Would Choose", readonly=True)
    outcome = fields.Selection(OUTCOMES, readonly=True)
    explanation = fields.Char(readonly=True)
