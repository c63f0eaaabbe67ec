from odoo import api, fields, models
from odoo.exceptions import UserError


class FinsyncCrmDuplicateWizard(models.TransientModel):
    """A CRM account that may be a partner Odoo has: link, merge, or a new partner."""

    _name = "finsync.crm.duplicate.wizard"
    _description = "FinSync CRM Duplicate Partner"

    exception_id = fields.Many2one("finsync.exception", required=True, readonly=True)
    binding_id = fields.Many2one(related="exception_id.crm_binding_id")
    crm_name = fields.Char(related="binding_id.display_crm_name", string="Salesforce Account")
    duplicate_key = fields.Selection(related="binding_id.duplicate_key")
    partner_id = fields.Many2one(
        "res.partner",
        string="Existing Partner",
        compute="_compute_partner_id",
        store=True,
        readonly=False,
    )
    decision = fields.Selection(
        [
            ("link", "Link the account to the existing partner"),
            ("merge", "Create it, then merge it into the existing partner"),
            ("create", "Not a duplicate: create a new partner"),
        ],
        required=True,
        default="link",
    )

    @api.depends("exception_id")
    def _compute_partner_id(self):
        for wizard in self:
            wizard.partner_id = wizard.binding_id.duplicate_partner_id

    def action_apply(self):
        self.ensure_one()
        exception = self.exception_id
        exception._check_can_resolve()
        binding = self.binding_id
        if not exception.is_open or not binding or binding.state != "duplicate":
            raise UserError(self.env._("This duplicate is already settled."))
        if self.decision in ("link", "merge") and not self.partner_id:
            raise UserError(self.env._("Choose the existing partner."))
        if self.decision == "merge" and not self.env.user.has_group("base.group_partner_manager"):
            raise UserError(
                self.env._(
                    "Merging partners needs the Contact Creation right: link the account "
                    "instead, or ask someone who has it."
                )
            )
        if self.decision == "link":
            binding._crm_link(self.partner_id)
            exception._close(self.env.ref("finsync_crm.reason_crm_linked"))
            return {"type": "ir.actions.act_window_close"}
        new = binding._crm_link_new_partner()
        if self.decision == "merge" and self.partner_id.email and not new.email:
            # A Salesforce account has no e-mail of its own: Odoo's merge wants one e-mail.
            new.sudo().email = self.partner_id.email  # sudo: the partner the sync created
        if self.decision == "create":
            exception._close(self.env.ref("finsync_crm.reason_crm_new_partner"))
            return {"type": "ir.actions.act_window_close"}
        exception._close(self.env.ref("finsync_crm.reason_crm_merged"))
        return self._merge_action(self.partner_id, new)

    def _merge_action(self, existing, new):
        """Odoo's partner merge, the existing partner kept: the binding follows (its
        foreign key moves to the partner kept)."""
        merge = self.env["base.partner.merge.automatic.wizard"].create(
            {
                "partner_ids": [fields.Command.set((existing | new).ids)],
                "dst_partner_id": existing.id,
                "state": "selection",
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": merge._name,
            "res_id": merge.id,
            "view_mode": "form",
            "target": "new",
        }
