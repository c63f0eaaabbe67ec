from odoo import Command, fields, models

from ..models.finsync_matching import MATCHING_EXCEPTION_TYPES


class FinsyncBankImport(models.TransientModel):
    """The import wizard also says what matching made of the imported lines."""

    _inherit = "finsync.bank.import"

    matched_count = fields.Integer(string="Reconciled Automatically", readonly=True)
    match_exception_ids = fields.Many2many(
        "finsync.exception",
        "finsync_bank_import_match_exception_rel",
        "wizard_id",
        "exception_id",
        string="To Review",
        readonly=True,
    )
    imported_event_ids = fields.Many2many(
        "finsync.event",
        "finsync_bank_import_imported_event_rel",
        "wizard_id",
        "event_id",
        readonly=True,
        help="The files booked by this import (not those imported before).",
    )

    def _prepare_done_vals(self, events, fresh, results):
        vals = super()._prepare_done_vals(events, fresh, results)
        vals["imported_event_ids"] = [Command.set(fresh.ids)]
        return vals

    def action_import(self):
        action = super().action_import()
        if self.state != "done":
            return action
        # Only this import's lines: a file imported before brings back its old event.
        transactions = self.imported_event_ids.transaction_ids
        if not transactions or transactions.filtered(lambda tx: not tx.statement_line_id):
            # Nothing new, or posted (and matched) by background jobs: nothing to say yet.
            return action
        if any(transactions.statement_line_id.mapped("finsync_match_pending")):
            self.message += " " + self.env._("The lines are being matched by a background job.")
            return action
        matched = transactions.filtered(
            lambda tx: tx.state == "reconciled" and tx.match_mode == "auto"
        )
        to_review = transactions.exception_ids.filtered(
            lambda exc: exc.is_open and exc.exception_type in MATCHING_EXCEPTION_TYPES
        )
        self.write(
            {
                "matched_count": len(matched),
                "match_exception_ids": [Command.set(to_review.ids)],
                "message": self.message
                + " "
                + self.env._(
                    "%(matched)s reconciled automatically, %(review)s to review.",
                    matched=len(matched),
                    review=len(to_review),
                ),
            }
        )
        return action

    def action_view_match_exceptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_base.action_finsync_exception"
        )
        action.update(
            domain=[("id", "in", self.match_exception_ids.ids)],
            context={},
            view_mode="list,form,kanban",
            views=[(False, "list"), (False, "form"), (False, "kanban")],
        )
        return action
