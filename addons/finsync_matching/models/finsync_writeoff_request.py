from odoo import SUPERUSER_ID, Command, api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from odoo.addons.finsync_base.tools.server_only import ServerOnly

# Requests and their items are written only by this module's private methods,
# which pass this guard's mark: JSON-RPC can never send it, whatever context a
# client forges.
_GUARD = ServerOnly("finsync_writeoff_guard")

# Every field of a request: set at request time or by the decision, never by a client.
PROTECTED_FIELDS = {
    "name",
    "state",
    "origin",
    "company_id",
    "requester_id",
    "statement_line_id",
    "transaction_id",
    "exception_id",
    "match_rule_id",
    "currency_id",
    "requested_line_amount",
    "amount",
    "amount_company_currency",
    "account_id",
    "label",
    "reason",
    "line_ids",
    "approver_id",
    "decision_date",
    "rejection_reason",
}


def _is_protected(env):
    return _GUARD.granted(env)


class FinsyncWriteoffRequest(models.Model):
    """A write-off over the company's threshold, waiting for a second manager.

    The request keeps everything needed to reconcile later exactly as the
    requester chose: the bank line, the open items with the amount applied to
    each (``line_ids``), the write-off account and label. The write-off amount
    is computed here from the bank line and those items (``_request``), never
    taken from the client, and computed again at approval: if the bank line or
    an item changed meanwhile, approval is refused. Approving
    (``action_approve``) reconciles through ``finsync.matching._reconcile_allocations``;
    only a FinSync manager other than the requester (``create_uid``, which no
    client can write) may approve or reject, and the requester is told either
    way (message and to-do activity). A matching rule's write-off over the
    threshold is requested by the system (OdooBot): any FinSync manager may
    decide it, except whoever last changed that rule.

    No client creates or writes requests: accountants and managers only read
    them; ``_request``, ``action_approve`` and ``_reject`` write them after
    their own checks.
    """

    _name = "finsync.writeoff.request"
    _description = "FinSync Write-off Request"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "state_rank, create_date desc, id desc"
    _check_company_auto = True
    # Requesters (accountants) may comment without write access to the request.
    _mail_post_access = "read"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    name = fields.Char(readonly=True, copy=False, default="/")
    state = fields.Selection(
        [("requested", "Requested"), ("approved", "Approved"), ("rejected", "Rejected")],
        default="requested",
        required=True,
        readonly=True,
        index=True,
        tracking=True,
    )
    state_rank = fields.Integer(compute="_compute_state_rank", store=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True, default=lambda s: s.env.company
    )
    origin = fields.Selection(
        [("manual", "By hand"), ("rule", "Matching rule")],
        default="manual",
        required=True,
        readonly=True,
        help="Asked by a person from the manual-match wizard, or by a matching rule whose "
        "tolerance write-off is over the threshold.",
    )
    # Whoever created the request: create_uid is set by the ORM and never written by a client.
    requester_id = fields.Many2one(related="create_uid", string="Requested By")
    statement_line_id = fields.Many2one(
        "account.bank.statement.line",
        string="Bank Line",
        required=True,
        readonly=True,
        index=True,
        check_company=True,
        ondelete="cascade",
    )
    transaction_id = fields.Many2one(
        "finsync.transaction", readonly=True, index="btree_not_null", check_company=True
    )
    exception_id = fields.Many2one(
        "finsync.exception", readonly=True, index="btree_not_null", check_company=True
    )
    match_rule_id = fields.Many2one(
        "finsync.match.rule",
        string="Matching Rule",
        readonly=True,
        check_company=True,
        ondelete="set null",
        help="The rule whose tolerance write-off this is (requests by the system).",
    )
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    line_amount = fields.Monetary(related="statement_line_id.amount", string="Bank Amount")
    requested_line_amount = fields.Monetary(
        string="Bank Amount Requested",
        readonly=True,
        help="The bank line's amount when the write-off was requested (checked at approval).",
    )
    amount = fields.Monetary(
        string="Write-off",
        required=True,
        readonly=True,
        help="The difference written off, signed as on the bank line: positive when "
        "the bank line brought more than the items it pays.",
    )
    company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="Company Currency"
    )
    amount_company_currency = fields.Monetary(
        currency_field="company_currency_id",
        readonly=True,
        help="The write-off's size in company currency, compared with the threshold.",
    )
    account_id = fields.Many2one(
        "account.account",
        string="Write-off Account",
        required=True,
        readonly=True,
        check_company=True,
    )
    label = fields.Char(readonly=True)
    reason = fields.Text(required=True, readonly=True, help="Why the difference is written off.")
    line_ids = fields.One2many("finsync.writeoff.request.line", "request_id", readonly=True)
    approver_id = fields.Many2one("res.users", string="Decided By", readonly=True)
    decision_date = fields.Datetime(readonly=True)
    rejection_reason = fields.Text(readonly=True)

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends("state")
    def _compute_state_rank(self):
        for request in self:
            request.state_rank = 0 if request.state == "requested" else 1

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    def _auto_init(self):
        res = super()._auto_init()
        # One pending request per bank line: never two write-offs waiting for the same line.
        if not tools.index_exists(self.env.cr, "finsync_writeoff_request_pending_line_uniq"):
            self.env.cr.execute(
                SQL(
                    "CREATE UNIQUE INDEX finsync_writeoff_request_pending_line_uniq "
                    "ON finsync_writeoff_request (statement_line_id) WHERE state = 'requested'"
                )
            )
        return res

    @api.model_create_multi
    def create(self, vals_list):
        if not _is_protected(self.env):
            raise AccessError(
                self.env._(
                    "Write-off requests are created by the manual-match wizard or by matching, "
                    "which compute the amount; they cannot be created directly."
                )
            )
        sequence = self.env["ir.sequence"]
        for vals in vals_list:
            vals["state"] = "requested"
            if vals.get("name", "/") == "/":
                vals["name"] = sequence.next_by_code("finsync.writeoff.request") or "/"
        return super().create(vals_list)

    def write(self, vals):
        protected = PROTECTED_FIELDS.intersection(vals)
        if protected and not _is_protected(self.env):
            raise UserError(
                self.env._(
                    "Write-off request %(name)s changes only by approval or rejection "
                    "(not %(fields)s).",
                    name=self[:1].name,
                    fields=", ".join(sorted(protected)),
                )
            )
        return super().write(vals)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_approve(self):
        """Approve and reconcile: a FinSync manager other than the requester only."""
        self._check_decider()
        workflow = self.env["finsync.exception.workflow"]
        matching = self.env["finsync.matching"]
        for request in self:
            workflow._lock_open_lines(request.statement_line_id)
            request._check_unchanged()
            note = self.env._(
                "Write-off %(name)s of %(amount)s approved by %(user)s: %(reason)s",
                name=request.name,
                amount=request.currency_id.format(request.amount),
                user=self.env.user.name,
                reason=request.reason,
            )
            # Closed first with the write-off reason; the reconciliation then
            # finds nothing left open to close as "matched".
            workflow._close_line_exceptions(
                request.transaction_id | request.statement_line_id.finsync_transaction_ids,
                "finsync_base.reason_write_off",
                note,
            )
            matching._reconcile_allocations(
                request.statement_line_id,
                request.line_ids._allocations(),
                writeoff_account=request.account_id,
                writeoff_label=request.label or request.reason,
                explanation=note,
            )
            request._protected_write(
                {
                    "state": "approved",
                    "approver_id": self.env.uid,
                    "decision_date": fields.Datetime.now(),
                }
            )
            request._tell_requester(self.env._("Write-off approved"), note)
        return True

    def action_open_reject_wizard(self):
        self._check_decider()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reject Write-off"),
            "res_model": "finsync.writeoff.reject",
            "view_mode": "form",
            "target": "new",
            "context": {"default_request_ids": [Command.set(self.ids)]},
        }

    def action_open_statement_line(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.statement_line_id.move_id.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    @api.model
    def _request(
        self,
        st_line,
        allocations,
        account,
        reason,
        label=False,
        transaction=None,
        exception=None,
        rule=None,
    ):
        """Create a pending write-off request; returns it.

        ``allocations`` are ``(open item, amount applied)`` pairs (positive amounts,
        in the bank line's currency). The write-off amount is what the bank line
        brings beyond the items, computed here: whatever a client sends is never
        used. A person's request needs a FinSync accountant in the line's company;
        the matching engine calls it as the system (``rule`` given).
        """
        st_line.ensure_one()
        if not self.env.su:
            workflow = self.env["finsync.exception.workflow"]
            workflow._check_accountant()
            workflow._check_line_company(st_line)
        if not (reason or "").strip():
            raise UserError(self.env._("Say why the difference is written off."))
        amount, amount_company = self._writeoff_amounts(st_line, allocations)
        if st_line.currency_id.is_zero(amount):
            raise UserError(
                self.env._(
                    "The items pay the whole bank line %(line)s: there is nothing to write off.",
                    line=st_line.payment_ref or st_line.display_name,
                )
            )
        vals = {
            "origin": "rule" if rule else "manual",
            "company_id": st_line.company_id.id,
            "statement_line_id": st_line.id,
            "transaction_id": transaction.id if transaction else False,
            "exception_id": exception.id if exception else False,
            "match_rule_id": rule.id if rule else False,
            "currency_id": st_line.currency_id.id,
            "requested_line_amount": st_line.amount,
            "amount": amount,
            "amount_company_currency": amount_company,
            "account_id": account.id,
            "label": label,
            "reason": reason,
            "line_ids": [
                Command.create(
                    {
                        "sequence": sequence,
                        "move_line_id": item.id,
                        "amount": applied,
                        "requested_residual": item.amount_residual_currency,
                    }
                )
                for sequence, (item, applied) in enumerate(allocations, start=1)
            ],
        }
        # sudo: no client may create requests (no create access); the checks above
        # were made for the caller, who stays the requester (create_uid).
        request = _GUARD.grant(self.sudo()).create(vals)
        return self.browse(request.ids)

    @api.model
    def _writeoff_amounts(self, st_line, allocations):
        """``(write-off, write-off in company currency)`` of paying ``allocations``
        with ``st_line``: signed as on the bank line. Refuses amounts an item
        cannot take and items in another currency than the bank line."""
        currency = st_line.currency_id
        applied = 0.0
        for item, amount in allocations:
            if item.currency_id != currency:
                raise UserError(
                    self.env._(
                        "%(item)s is in %(item_currency)s, the bank line in %(currency)s: "
                        "write-offs are requested in the bank line's currency.",
                        item=item.move_id.name,
                        item_currency=item.currency_id.name,
                        currency=currency.name,
                    )
                )
            residual = item.amount_residual_currency
            if (
                currency.compare_amounts(amount or 0.0, 0) <= 0
                or currency.compare_amounts(amount, abs(residual)) > 0
            ):
                raise UserError(
                    self.env._(
                        "%(amount)s cannot be applied to %(item)s: it has %(residual)s left "
                        "to pay.",
                        amount=currency.format(amount or 0.0),
                        item=item.move_id.name,
                        residual=currency.format(abs(residual)),
                    )
                )
            applied += amount if residual > 0 else -amount
        difference = currency.round(st_line.amount - applied)
        company = st_line.company_id
        if currency == company.currency_id:
            return difference, difference
        return difference, currency._convert(difference, company.currency_id, company, st_line.date)

    def _check_unchanged(self):
        """Refuse approval when the bank line or an item changed since the request."""
        for request in self:
            st_line = request.statement_line_id
            currency = request.currency_id
            changed = []
            if currency.compare_amounts(st_line.amount, request.requested_line_amount):
                changed.append(self.env._("the bank line's amount"))
            for line in request.line_ids:
                item = line.move_line_id
                if item.reconciled or currency.compare_amounts(
                    item.amount_residual_currency, line.requested_residual
                ):
                    changed.append(item.move_id.name)
            if not changed:
                amount, _company = self._writeoff_amounts(st_line, request.line_ids._allocations())
                if currency.compare_amounts(amount, request.amount):
                    changed.append(self.env._("the write-off amount"))
            if changed:
                raise UserError(
                    self.env._(
                        "Write-off request %(name)s cannot be approved: %(what)s changed since "
                        "it was requested. Reject it; the bank line can then be matched again.",
                        name=request.name,
                        what=", ".join(changed),
                    )
                )

    def _protected_write(self, vals):
        """Write decision fields after the caller's checks (see ``_check_decider``)."""
        # sudo: nobody has write access to requests; the decider was checked.
        return _GUARD.grant(self.sudo()).write(vals)

    def _reject(self, reason):
        """Reject pending requests with a reason; the exceptions go back to in progress."""
        self._check_decider()
        if not (reason or "").strip():
            raise UserError(self.env._("Say why the write-off is rejected."))
        for request in self:
            request._protected_write(
                {
                    "state": "rejected",
                    "approver_id": self.env.uid,
                    "decision_date": fields.Datetime.now(),
                    "rejection_reason": reason,
                }
            )
            note = self.env._(
                "Write-off %(name)s of %(amount)s rejected by %(user)s: %(reason)s",
                name=request.name,
                amount=request.currency_id.format(request.amount),
                user=self.env.user.name,
                reason=reason,
            )
            if request.exception_id.state == "waiting":
                request.exception_id._set_open_state("in_progress")
            if request.exception_id:
                request.exception_id.message_post(body=note)
            request._tell_requester(self.env._("Write-off rejected"), note)
        return True

    def _check_decider(self):
        """Pending, in one of the user's companies, and decided by another manager."""
        user = self.env.user
        if not user.has_group("finsync_base.group_finsync_manager"):
            raise AccessError(self.env._("Only FinSync managers can approve or reject write-offs."))
        for request in self:
            if request.state != "requested":
                raise UserError(
                    self.env._(
                        "Write-off request %(name)s is %(state)s already.",
                        name=request.name,
                        state=dict(self._fields["state"]._description_selection(self.env))[
                            request.state
                        ],
                    )
                )
            if request.create_uid == user:
                raise AccessError(
                    self.env._(
                        "Write-off request %(name)s: you requested it, so another FinSync "
                        "manager must approve or reject it.",
                        name=request.name,
                    )
                )
            if request.match_rule_id and request.match_rule_id.write_uid == user:
                raise AccessError(
                    self.env._(
                        "Write-off request %(name)s comes from matching rule %(rule)s, which "
                        "you changed last: another FinSync manager must approve or reject it.",
                        name=request.name,
                        rule=request.match_rule_id.name,
                    )
                )
            if request.company_id not in self.env.companies:
                raise AccessError(
                    self.env._(
                        "Write-off request %(name)s belongs to %(company)s, which is not "
                        "among your current companies.",
                        name=request.name,
                        company=request.company_id.name,
                    )
                )

    def _tell_requester(self, summary, note):
        """Message and to-do for whoever asked (nobody to tell when the system asked)."""
        self.ensure_one()
        requester = self.create_uid
        if requester.id == SUPERUSER_ID:
            self.message_post(body=note)
            return
        self.message_post(body=note, partner_ids=requester.partner_id.ids)
        # sudo: deciders only read requests; the activity is on the requester's to-do list.
        self.sudo().activity_schedule(
            "mail.mail_activity_data_todo",
            summary=summary,
            note=note,
            user_id=requester.id,
        )
