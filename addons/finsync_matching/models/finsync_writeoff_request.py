from odoo import Command, api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

# Fields only the approval flow changes (see ``write``).
DECISION_FIELDS = {
    "state",
    "approver_id",
    "decision_date",
    "rejection_reason",
    "requester_id",
    "amount",
    "account_id",
    "statement_line_id",
    "line_ids",
}


class FinsyncWriteoffRequest(models.Model):
    """A write-off over the company's threshold, waiting for a second manager.

    The request keeps everything needed to reconcile later exactly as the
    requester chose: the bank line, the open items with the amount applied to
    each (``line_ids``), the write-off account, label and amount. Approving
    (``action_approve``) reconciles through ``finsync.matching._reconcile_allocations``;
    only a FinSync manager other than the requester may approve or reject, and
    the requester is told either way (message and to-do activity).
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
    requester_id = fields.Many2one(
        "res.users", string="Requested By", required=True, readonly=True, index=True
    )
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
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    line_amount = fields.Monetary(related="statement_line_id.amount", string="Bank Amount")
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
        sequence = self.env["ir.sequence"]
        for vals in vals_list:
            # The requester is whoever asks, never a value sent by the client.
            vals["requester_id"] = self.env.uid
            vals["state"] = "requested"
            if vals.get("name", "/") == "/":
                vals["name"] = sequence.next_by_code("finsync.writeoff.request") or "/"
        return super(FinsyncWriteoffRequest, self.with_context(finsync_writeoff=True)).create(
            vals_list
        )

    def write(self, vals):
        protected = DECISION_FIELDS.intersection(vals)
        if protected and not self.env.context.get("finsync_writeoff"):
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
            request.with_context(finsync_writeoff=True).write(
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
    def _reject(self, reason):
        """Reject pending requests with a reason; the exceptions go back to in progress."""
        self._check_decider()
        if not (reason or "").strip():
            raise UserError(self.env._("Say why the write-off is rejected."))
        for request in self:
            request.with_context(finsync_writeoff=True).write(
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
            if request.requester_id == user:
                raise AccessError(
                    self.env._(
                        "Write-off request %(name)s: you requested it, so another FinSync "
                        "manager must approve or reject it.",
                        name=request.name,
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
        self.ensure_one()
        self.message_post(body=note, partner_ids=self.requester_id.partner_id.ids)
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=summary,
            note=note,
            user_id=self.requester_id.id,
        )
