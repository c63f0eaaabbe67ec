from odoo import api, fields, models


class FinsyncOutboxEventType(models.Model):
    """A kind of outbound event a subscription can choose (``invoice.paid``...).

    Declared as data by the addon that emits it; the code is what events carry.
    """

    _name = "finsync.outbox.event.type"
    _description = "FinSync Outbound Event Type"
    _order = "code"
    _rec_name = "code"

    code = fields.Char(required=True, readonly=True)
    name = fields.Char(required=True, translate=True)
    description = fields.Text(translate=True)

    _sql_constraints = [("code_unique", "UNIQUE(code)", "An event type code must be unique.")]

    @api.depends("code", "name")
    def _compute_display_name(self):
        for event_type in self:
            event_type.display_name = f"{event_type.code} ({event_type.name})"
