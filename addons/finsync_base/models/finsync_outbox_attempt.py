from odoo import fields, models


class FinsyncOutboxAttempt(models.Model):
    """One try of a delivery: what came back, never the headers or the secret."""

    _name = "finsync.outbox.attempt"
    _description = "FinSync Outbound Delivery Attempt"
    _order = "id desc"

    delivery_id = fields.Many2one(
        "finsync.outbox.delivery", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="delivery_id.company_id", store=True)
    attempt_no = fields.Integer(string="Attempt", readonly=True)
    attempted_at = fields.Datetime(readonly=True)
    ok = fields.Boolean(string="Succeeded", readonly=True)
    status_code = fields.Integer(string="HTTP Status", readonly=True)
    latency_ms = fields.Integer(string="Latency (ms)", readonly=True)
    response_excerpt = fields.Char(
        readonly=True, help="The first characters of the answer, redacted."
    )
    error_class = fields.Char(readonly=True)
