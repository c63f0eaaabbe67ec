from odoo import api, fields, models
from odoo.exceptions import UserError

# Canonical value -> the partner field that holds it (its label names the line).
PARTNER_FIELDS = {"country": "country_id"}


class FinsyncCrmConflictWizard(models.TransientModel):
    """A master-data conflict side by side: per value keep Odoo's, take the CRM's or edit."""

    _name = "finsync.crm.conflict.wizard"
    _description = "FinSync CRM Conflict"

    exception_id = fields.Many2one("finsync.exception", required=True, readonly=True)
    binding_id = fields.Many2one(related="exception_id.crm_binding_id")
    partner_id = fields.Many2one(related="binding_id.partner_id")
    line_ids = fields.One2many("finsync.crm.conflict.wizard.line", "wizard_id", string="Values")

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        for wizard in wizards.filtered(lambda w: not w.line_ids):
            wizard.line_ids = [
                fields.Command.create(
                    {
                        "key": key,
                        "label": wizard._field_label(key),
                        "odoo_value": data.get("odoo") or "",
                        "crm_value": data.get("crm") or "",
                        "edited_value": data.get("crm") or data.get("odoo") or "",
                    }
                )
                for key, data in sorted((wizard.binding_id.conflict_values or {}).items())
            ]
        return wizards

    def _field_label(self, key):
        field = self.env["res.partner"]._fields.get(PARTNER_FIELDS.get(key, key))
        return field._description_string(self.env) if field else key

    def action_keep_odoo(self):
        self.line_ids.choice = "odoo"
        return self.action_apply()

    def action_take_crm(self):
        self.line_ids.choice = "crm"
        return self.action_apply()

    def action_apply(self):
        self.ensure_one()
        exception = self.exception_id
        exception._check_can_resolve()
        if not exception.is_open or not self.binding_id:
            raise UserError(self.env._("This conflict is already settled."))
        choices = {line.key: (line.choice, line.edited_value) for line in self.line_ids}
        self.binding_id._crm_resolve_conflict(choices)
        kinds = {choice for choice, _value in choices.values()}
        code = {frozenset({"odoo"}): "keep_odoo", frozenset({"crm"}): "take_crm"}.get(
            frozenset(kinds), "edited"
        )
        exception._close(
            self.env.ref(f"finsync_crm.reason_crm_{code}"),
            note=", ".join(f"{line.label}: {line.choice}" for line in self.line_ids),
        )
        return {"type": "ir.actions.act_window_close"}


class FinsyncCrmConflictWizardLine(models.TransientModel):
    _name = "finsync.crm.conflict.wizard.line"
    _description = "FinSync CRM Conflict Value"

    wizard_id = fields.Many2one("finsync.crm.conflict.wizard", required=True, ondelete="cascade")
    key = fields.Char(required=True, readonly=True)
    label = fields.Char(string="Field", readonly=True)
    odoo_value = fields.Char(string="In Odoo", readonly=True)
    crm_value = fields.Char(string="In the CRM", readonly=True)
    choice = fields.Selection(
        [("odoo", "Keep Odoo's"), ("crm", "Take the CRM's"), ("edit", "Edit")],
        required=True,
        default="odoo",
    )
    edited_value = fields.Char(string="Value")
