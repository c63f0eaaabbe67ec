from odoo import fields, models
from odoo.exceptions import AccessError


class FinsyncException(models.Model):
    _inherit = "finsync.exception"

    exception_type = fields.Selection(
        selection_add=[("duplicate_partner", "Duplicate partner")],
        ondelete={"duplicate_partner": "cascade"},
    )
    crm_binding_id = fields.Many2one(
        "finsync.crm.binding",
        string="CRM Record",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )

    def write(self, vals):
        # The CRM record an exception is about is set when FinSync opens it, never later.
        if "crm_binding_id" in vals and not self.env.su:
            raise AccessError(
                self.env._("The CRM record of a FinSync exception cannot be changed.")
            )
        return super().write(vals)

    def action_crm_decide(self):
        """Open the wizard of a CRM conflict or duplicate (accountants only)."""
        self.ensure_one()
        self._check_can_resolve()
        xmlid = (
            "finsync_crm.action_finsync_crm_conflict_wizard"
            if self.exception_type == "master_data_conflict"
            else "finsync_crm.action_finsync_crm_duplicate_wizard"
        )
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["context"] = {"default_exception_id": self.id}
        return action


class FinsyncExceptionSla(models.Model):
    _inherit = "finsync.exception.sla"

    exception_type = fields.Selection(
        selection_add=[("duplicate_partner", "Duplicate partner")],
        ondelete={"duplicate_partner": "cascade"},
    )
