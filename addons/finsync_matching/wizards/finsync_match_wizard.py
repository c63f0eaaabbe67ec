from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from .candidate_ranking import label_keys, rank

MAX_CANDIDATES = 40


class FinsyncMatchWizard(models.TransientModel):
    """Match a bank line by hand: ranked open items, amounts per item, the difference live.

    Opened from an exception or a transaction. The items FinSync proposed come
    first, then the others ranked by reference, partner and amount closeness;
    any open item can be added by search. Ticking an item applies what is left
    of the bank line to it (so the last item of a split may take only a part);
    amounts can be edited. Confirming reconciles through
    ``finsync.matching._reconcile_allocations``: what the items do not take is
    written off at once up to the company's threshold, or becomes a
    ``finsync.writeoff.request`` for a second manager above it.
    """

    _name = "finsync.match.wizard"
    _description = "FinSync Manual Match"
    _inherit = ["finsync.line.wizard.mixin"]

    line_ids = fields.One2many("finsync.match.wizard.line", "wizard_id", string="Open Items")
    add_move_line_id = fields.Many2one(
        "account.move.line",
        string="Add an Open Item",
        domain="[('company_id', '=', company_id), ('parent_state', '=', 'posted'), "
        "('reconciled', '=', False), ('amount_residual', '!=', 0), "
        "('account_id.account_type', 'in', ['asset_receivable', 'liability_payable']), "
        "('currency_id', '=', currency_id)]",
        help="Search any open invoice or bill by number or partner.",
    )
    selected_total = fields.Monetary(compute="_compute_totals", string="Selected")
    difference = fields.Monetary(compute="_compute_totals", string="Difference")
    is_balanced = fields.Boolean(compute="_compute_totals")
    do_writeoff = fields.Boolean(string="Write Off the Difference")
    writeoff_account_id = fields.Many2one(
        "account.account",
        string="Write-off Account",
        domain="[('company_ids', 'in', company_id), ('deprecated', '=', False)]",
    )
    writeoff_label = fields.Char(string="Write-off Label")
    writeoff_reason = fields.Text(string="Reason", help="Why the difference is written off.")
    threshold = fields.Monetary(
        related="company_id.finsync_writeoff_threshold", currency_field="company_currency_id"
    )
    company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="Company Currency"
    )
    needs_approval = fields.Boolean(compute="_compute_needs_approval")

    # ------------------------------------------------------------------
    # Defaults and computes
    # ------------------------------------------------------------------
    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        st_line = self.env["account.bank.statement.line"].browse(values.get("statement_line_id"))
        if st_line and "line_ids" in fields_list:
            values["line_ids"] = [
                Command.create(vals) for vals in self._candidate_vals(st_line, values)
            ]
        if self.env.context.get("finsync_writeoff"):
            values["do_writeoff"] = True
        return values

    @api.depends("line_ids.selected", "line_ids.amount", "line_amount")
    def _compute_totals(self):
        for wizard in self:
            total = sum(line._signed_amount() for line in wizard.line_ids if line.selected)
            wizard.selected_total = total
            wizard.difference = wizard.currency_id.round(wizard.line_amount - total)
            wizard.is_balanced = wizard.currency_id.is_zero(wizard.difference)

    @api.depends("difference", "do_writeoff", "threshold")
    def _compute_needs_approval(self):
        for wizard in self:
            amount = wizard._difference_company_currency()
            wizard.needs_approval = bool(
                wizard.do_writeoff
                and not wizard.is_balanced
                and wizard.company_currency_id.compare_amounts(abs(amount), wizard.threshold) > 0
            )

    # ------------------------------------------------------------------
    # Onchanges
    # ------------------------------------------------------------------
    @api.onchange("line_ids")
    def _onchange_line_ids(self):
        """Ticking an item fills its amount; unticking clears it (the totals follow)."""
        self.line_ids.filtered(lambda line: not line.selected and line.amount).amount = 0.0
        self.line_ids.sorted("sequence")._fill_amount()

    @api.onchange("add_move_line_id")
    def _onchange_add_move_line_id(self):
        item = self.add_move_line_id
        if not item:
            return
        self.add_move_line_id = False
        existing = self.line_ids.filtered(lambda line: line.move_line_id == item)
        if existing:
            existing.selected = True
            existing._fill_amount()
            return
        new = self.env["finsync.match.wizard.line"].new(
            {
                "move_line_id": item.id,
                "selected": True,
                "sequence": max(self.line_ids.mapped("sequence") or [0]) + 1,
                "explanation": self.env._("added by hand"),
            }
        )
        self.line_ids |= new
        new._fill_amount()

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_confirm(self):
        self.ensure_one()
        st_line = self._check_and_lock()
        self._check_no_pending_writeoff(st_line)
        selected = self.line_ids.filtered("selected")
        if not selected and not self.do_writeoff:
            raise UserError(self.env._("Tick the open items this bank line pays."))
        selected._check_amounts()
        if not self.is_balanced and not self.do_writeoff:
            raise UserError(
                self.env._(
                    "The ticked items leave %(difference)s of the bank line %(line)s: change "
                    "the amounts, add items, or write off the difference.",
                    difference=self.currency_id.format(self.difference),
                    line=self.line_label,
                )
            )
        if not self.is_balanced:
            self._validate_writeoff()
            if self.needs_approval:
                return self._request_writeoff(selected)
        return self._apply(st_line, selected)

    # ------------------------------------------------------------------
    # Steps
    # ------------------------------------------------------------------
    @api.model
    def _candidate_vals(self, st_line, values):
        """Wizard lines for the best open items, the engine's proposals first."""
        transaction = st_line.finsync_transaction_ids[:1]
        proposed = transaction.proposed_line_ids | transaction.candidate_line_ids
        bank_line = self.env["finsync.matching"]._bank_lines(st_line)[st_line.id]
        items = self._candidate_items(st_line.company_id, bank_line, set(proposed.ids))
        ranked = rank(bank_line, items, proposed.ids)[:MAX_CANDIDATES]
        # Tick what adds up: the engine's proposal, or the candidate of an amount
        # mismatch; never the alternatives of an ambiguous line (a person chooses).
        exception = self.env["finsync.exception"].browse(values.get("exception_id"))
        preselect = set(transaction.proposed_line_ids.ids)
        if self.env.context.get("finsync_writeoff") or exception.exception_type in (
            "amount_mismatch",
            "proposal",
            "missing_reference",
        ):
            preselect |= set(transaction.candidate_line_ids.ids)
        move_lines = self.env["account.move.line"].browse([c.item.id for c in ranked])
        residuals = {line.id: line.amount_residual_currency for line in move_lines}
        vals_list = []
        for sequence, candidate in enumerate(ranked, start=1):
            select = candidate.item.id in preselect
            vals_list.append(
                {
                    "move_line_id": candidate.item.id,
                    "sequence": sequence,
                    "score": candidate.score,
                    "proposed": candidate.proposed,
                    "explanation": candidate.explanation,
                    "selected": select,
                    "amount": abs(residuals[candidate.item.id]) if select else 0.0,
                }
            )
        return vals_list

    @api.model
    def _candidate_items(self, company, bank_line, proposed_ids):
        """Open items worth showing: proposed, named in the label, the payer's, equal amount.

        Read from the matching engine's index of the company's open items (one
        query), in the bank line's currency.
        """
        index = self.env["finsync.matching"]._open_items(company)
        keys = label_keys(bank_line)
        named = {item.id for key in keys for item in index.by_reference.get(key, ())}
        payer = {item.id for item in index.by_partner.get(bank_line.partner_id, ())}
        wanted = named | payer | proposed_ids
        items = {}
        for group in index.by_partner.values():
            for item in group:
                items[item.id] = item
        for group in index.by_reference.values():
            for item in group:
                items.setdefault(item.id, item)
        return [
            item
            for item in items.values()
            if item.currency == bank_line.currency
            and (item.id in wanted or item.amount == bank_line.amount)
        ]

    def _difference_company_currency(self):
        self.ensure_one()
        if not self.currency_id or self.currency_id == self.company_currency_id:
            return self.difference
        return self.currency_id._convert(
            self.difference, self.company_currency_id, self.company_id, self.line_date
        )

    def _validate_writeoff(self):
        if not self.writeoff_account_id:
            raise UserError(
                self.env._(
                    "Choose the account the %(difference)s difference is written off to.",
                    difference=self.currency_id.format(self.difference),
                )
            )
        if not (self.writeoff_reason or "").strip():
            raise UserError(self.env._("Say why the difference is written off."))

    def _explanation(self, selected):
        return self.env._(
            "Matched by hand by %(user)s with %(items)s",
            user=self.env.user.name,
            items=", ".join(selected.move_line_id.move_id.mapped("name")) or self.env._("no item"),
        )

    def _apply(self, st_line, selected):
        workflow = self.env["finsync.exception.workflow"]
        explanation = self._explanation(selected)
        if not self.is_balanced:
            explanation = self.env._(
                "%(explanation)s; %(difference)s written off: %(reason)s",
                explanation=explanation,
                difference=self.currency_id.format(self.difference),
                reason=self.writeoff_reason,
            )
            workflow._close_line_exceptions(
                self._transactions(st_line), "finsync_base.reason_write_off", explanation
            )
        else:
            workflow._close_line_exceptions(
                self._transactions(st_line), "finsync_base.reason_matched", explanation
            )
        self.env["finsync.matching"]._reconcile_allocations(
            st_line,
            selected._allocations(),
            writeoff_account=self.writeoff_account_id if not self.is_balanced else None,
            writeoff_label=self.writeoff_label or self.writeoff_reason,
            explanation=explanation,
        )
        return self._done(self.env._("Bank line reconciled: %(what)s", what=explanation))

    def _request_writeoff(self, selected):
        # The amount is computed by the request from the bank line and the items.
        request = self.env["finsync.writeoff.request"]._request(
            self.statement_line_id,
            [(line.move_line_id, line.amount) for line in selected],
            self.writeoff_account_id,
            self.writeoff_reason,
            label=self.writeoff_label,
            transaction=self.transaction_id,
            exception=self.exception_id,
        )
        message = self.env._(
            "Write-off %(name)s of %(amount)s is over the %(threshold)s threshold: it waits "
            "for approval by a FinSync manager other than you.",
            name=request.name,
            amount=self.currency_id.format(request.amount),
            threshold=self.company_currency_id.format(self.threshold),
        )
        if self.exception_id.is_open:
            self.exception_id._set_open_state("waiting")
            self.exception_id.message_post(body=message)
        request.message_post(body=self.writeoff_reason)
        return self._done(message)


class FinsyncMatchWizardLine(models.TransientModel):
    """One candidate open item in the manual-match wizard."""

    _name = "finsync.match.wizard.line"
    _description = "FinSync Manual Match Item"
    _order = "sequence, id"

    wizard_id = fields.Many2one("finsync.match.wizard", required=True, ondelete="cascade")
    sequence = fields.Integer()
    move_line_id = fields.Many2one("account.move.line", string="Open Item", required=True)
    move_name = fields.Char(related="move_line_id.move_name", string="Entry")
    partner_id = fields.Many2one(related="move_line_id.partner_id")
    date = fields.Date(related="move_line_id.date")
    date_maturity = fields.Date(related="move_line_id.date_maturity", string="Due")
    currency_id = fields.Many2one(related="move_line_id.currency_id")
    residual = fields.Monetary(related="move_line_id.amount_residual_currency", string="Open")
    score = fields.Integer()
    proposed = fields.Boolean()
    explanation = fields.Char(string="Why")
    selected = fields.Boolean(string="Match")
    amount = fields.Monetary(string="Apply", help="What the bank line pays on this item.")

    def _fill_amount(self):
        """Give a newly ticked item what the bank line has left, at most its residual."""
        for line in self:
            if not line.selected or not line.currency_id.is_zero(line.amount):
                continue
            others = sum(
                other._signed_amount()
                for other in line.wizard_id.line_ids
                if other.selected and other != line
            )
            remaining = line.wizard_id.line_amount - others
            sign = 1 if line.residual > 0 else -1
            open_amount = abs(line.residual)
            left = sign * remaining
            line.amount = left if 0 < left < open_amount else open_amount

    def _signed_amount(self):
        """The amount as it counts against the bank line (a bill paid is negative)."""
        self.ensure_one()
        return self.amount if self.residual > 0 else -self.amount

    def _check_amounts(self):
        for line in self:
            if line.currency_id.compare_amounts(line.amount, 0) <= 0:
                raise UserError(
                    self.env._(
                        "Enter the amount paid on %(item)s (more than zero).",
                        item=line.move_name,
                    )
                )
            if line.currency_id.compare_amounts(line.amount, abs(line.residual)) > 0:
                raise UserError(
                    self.env._(
                        "%(amount)s is more than the %(residual)s left to pay on %(item)s.",
                        amount=line.currency_id.format(line.amount),
                        residual=line.currency_id.format(abs(line.residual)),
                        item=line.move_name,
                    )
                )

    def _allocations(self):
        return [
            (
                line.move_line_id,
                None
                if line.currency_id.compare_amounts(line.amount, abs(line.residual)) == 0
                else line.amount,
            )
            for line in self
        ]
