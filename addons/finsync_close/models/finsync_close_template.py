from datetime import timedelta

from odoo import fields, models


class FinsyncCloseTemplate(models.Model):
    """A manual checklist item every close of the company gets (configured by partners)."""

    _name = "finsync.close.template"
    _description = "FinSync Close Manual Item Template"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(string="Item", required=True, translate=True)
    description = fields.Text()
    sequence = fields.Integer(default=200)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        domain="[('share', '=', False)]",
        help="Who signs it off (the close settings' default owner when empty).",
    )
    due_days = fields.Integer(
        string="Due (days after period end)", default=5, help="The item's due date."
    )

    def _item_vals(self, close, default_owner):
        self.ensure_one()
        return {
            "close_id": close.id,
            "code": "manual",
            "name": self.name,
            "description": self.description,
            "sequence": self.sequence,
            "template_id": self.id,
            "user_id": (self.user_id or default_owner).id,
            "due_date": close.date_to + timedelta(days=self.due_days),
        }
