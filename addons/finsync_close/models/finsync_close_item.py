from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import float_compare

from .finsync_close_check import AUTO_CHECKS
from .finsync_close_period import CLOSE_GUARD, MANAGER_GROUP

# Automatic items that may be signed while failing, when explained by a note.
EXPLAINABLE = {"suspense"}


class FinsyncCloseItem(models.Model):
    """One line of a close's checklist: an automatic check or a manual task, and its sign-off.

    Evidence and sign-off are written by the checklist and the *Sign Off* button
    only. The numbers of a sign-off are kept: when a refresh finds other ones,
    the item reopens (strict tie-out).
    """

    _name = "finsync.close.item"
    _description = "FinSync Close Checklist Item"
    _order = "sequence, id"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    close_id = fields.Many2one(
        "finsync.close", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="close_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="close_id.currency_id")
    close_state = fields.Selection(related="close_id.state", string="Close State")
    sequence = fields.Integer(default=100, readonly=True)
    code = fields.Selection(
        [(code, label) for code, (_seq, label) in AUTO_CHECKS.items()] + [("manual", "Manual")],
        required=True,
        readonly=True,
        default="manual",
    )
    name = fields.Char(string="Item", required=True, readonly=True)
    description = fields.Text(readonly=True)
    template_id = fields.Many2one("finsync.close.template", readonly=True, index="btree_not_null")
    user_id = fields.Many2one(
        "res.users", string="Owner", domain="[('share', '=', False)]", check_company=False
    )
    due_date = fields.Date()
    passed = fields.Boolean(readonly=True, help="The check found nothing in the way.")
    evidence_count = fields.Integer(string="Count", readonly=True)
    evidence_amount = fields.Monetary(string="Amount", readonly=True)
    evidence_model = fields.Char(readonly=True)
    evidence_domain = fields.Json(readonly=True)
    explanation = fields.Text(help="Why a non-zero balance is right (suspense and transit).")
    state = fields.Selection(
        [("todo", "To Sign"), ("signed", "Signed")], default="todo", required=True, readonly=True
    )
    signed_by_id = fields.Many2one("res.users", string="Signed By", readonly=True)
    signed_on = fields.Datetime(readonly=True)
    signed_count = fields.Integer(readonly=True)
    signed_amount = fields.Monetary(readonly=True)
    status = fields.Selection(
        [("ok", "OK"), ("explained", "Explained"), ("failing", "Failing"), ("manual", "Manual")],
        compute="_compute_status",
    )

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends("code", "passed", "explanation")
    def _compute_status(self):
        for item in self:
            if item.code == "manual":
                item.status = "manual"
            elif item.passed:
                item.status = "ok"
            elif item.code in EXPLAINABLE and item.explanation:
                item.status = "explained"
            else:
                item.status = "failing"

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    def write(self, vals):
        if not CLOSE_GUARD.granted(self.env):
            self._check_people_write(vals)
        return super().write(vals)

    def _check_people_write(self, vals):
        allowed = {"explanation", "user_id", "due_date"}
        protected = set(vals) - allowed
        if protected:
            raise AccessError(
                self.env._(
                    "%(fields)s of a checklist item change only through its buttons.",
                    fields=", ".join(sorted(protected)),
                )
            )
        is_manager = self.env.user.has_group(MANAGER_GROUP)
        if {"user_id", "due_date"} & set(vals) and not is_manager:
            raise AccessError(self.env._("Only managers assign checklist items."))
        for item in self:
            if item.close_id.state == "closed":
                raise UserError(self.env._("%(item)s: the period is closed.", item=item.name))
            if "explanation" in vals:
                item._check_owner()
                if item.state == "signed":
                    raise UserError(
                        self.env._("%(item)s is signed off: its note is kept.", item=item.name)
                    )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_sign(self):
        """Button: the owner (or a manager) signs the item off, keeping its numbers."""
        for item in self:
            item._check_owner()
            if item.state == "signed":
                continue
            if item.close_id.state == "closed":
                raise UserError(self.env._("%(item)s: the period is closed.", item=item.name))
            if item.status == "failing":
                message = (
                    self.env._(
                        "%(item)s cannot be signed off: a record stands in the way "
                        "(see its evidence).",
                        item=item.name,
                    )
                    if item.evidence_count == 1
                    else self.env._(
                        "%(item)s cannot be signed off: %(count)s records stand in the way "
                        "(see its evidence).",
                        item=item.name,
                        count=item.evidence_count,
                    )
                )
                raise UserError(message)
            CLOSE_GUARD.grant(item).write(
                {
                    "state": "signed",
                    "signed_by_id": self.env.user.id,
                    "signed_on": fields.Datetime.now(),
                    "signed_count": item.evidence_count,
                    "signed_amount": item.evidence_amount,
                }
            )
            item.close_id.message_post(
                body=self.env._(
                    "%(item)s signed off (count %(count)s, amount %(amount)s).",
                    item=item.name,
                    count=item.evidence_count,
                    amount=item.evidence_amount,
                )
            )
        self.close_id._update_state()
        return True

    def action_open_evidence(self):
        self.ensure_one()
        if not self.evidence_model:
            raise UserError(self.env._("%(item)s has no records behind it.", item=self.name))
        return {
            "type": "ir.actions.act_window",
            "name": self.name,
            "res_model": self.evidence_model,
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": self.evidence_domain or [],
            "context": {"create": False},
        }

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _check_owner(self):
        self.ensure_one()
        if self.env.su or self.user_id == self.env.user or self.env.user.has_group(MANAGER_GROUP):
            return
        raise AccessError(
            self.env._(
                "%(item)s is signed off by its owner %(owner)s or a manager.",
                item=self.name,
                owner=self.user_id.name or "-",
            )
        )

    def _apply_evidence(self, results):
        """Store the checks' evidence; reopen signed items whose numbers changed."""
        for item in self.filtered(lambda i: i.code in results):
            found = results[item.code]
            currency = item.currency_id
            vals = {
                "passed": found["count"] == 0,
                "evidence_count": found["count"],
                "evidence_amount": found["amount"],
                "evidence_model": found["model"],
                "evidence_domain": found["domain"],
            }
            moved = item.state == "signed" and (
                item.signed_count != found["count"]
                or float_compare(
                    item.signed_amount,
                    found["amount"],
                    precision_rounding=currency.rounding,
                )
            )
            if moved:
                vals.update(state="todo", signed_by_id=False, signed_on=False)
                item.close_id.message_post(
                    body=self.env._(
                        "%(item)s reopened: its numbers changed since the sign-off "
                        "(count %(old_count)s -> %(count)s, amount %(old_amount)s -> %(amount)s).",
                        item=item.name,
                        old_count=item.signed_count,
                        count=found["count"],
                        old_amount=item.signed_amount,
                        amount=found["amount"],
                    )
                )
            CLOSE_GUARD.grant(item).write(vals)
