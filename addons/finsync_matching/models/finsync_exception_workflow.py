from odoo import api, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import format_amount

from .finsync_matching import MATCHING_EXCEPTION_TYPES

# Exceptions about a bank line not (yet) matching: the wizards close them.
LINE_EXCEPTION_TYPES = (*MATCHING_EXCEPTION_TYPES, "duplicate")


class FinsyncExceptionWorkflow(models.AbstractModel):
    """Checks and steps shared by the exception wizards and write-off approval.

    Every wizard that touches the ledger calls ``_check_accountant``, then
    ``_lock_open_lines`` (a row lock on the statement lines, then a fresh read
    of ``is_reconciled``), so that a line reconciled meanwhile by someone else,
    or by a matching job running now, is refused with a clear message instead
    of being reconciled twice.
    """

    _name = "finsync.exception.workflow"
    _description = "FinSync Exception Workflow"

    @api.model
    def _check_accountant(self):
        if not self.env.user.has_group("finsync_base.group_finsync_accountant"):
            raise AccessError(
                self.env._("Only FinSync accountants can resolve bank lines from exceptions.")
            )

    @api.model
    def _check_line_company(self, st_lines):
        """Refuse bank lines outside the user's current companies (not the ORM's _check_company)."""
        foreign = st_lines.filtered(lambda line: line.company_id not in self.env.companies)
        if foreign:
            raise AccessError(
                self.env._(
                    "Bank line %(line)s belongs to %(company)s, which is not among your "
                    "current companies.",
                    line=foreign[0].display_name,
                    company=foreign[0].company_id.name,
                )
            )

    @api.model
    def _lock_open_lines(self, st_lines):
        """Lock ``st_lines`` for this transaction; refuse if any is already reconciled."""
        self._check_line_company(st_lines)
        if not st_lines:
            raise UserError(self.env._("There is no bank line to work on."))
        # The same lock as a matching run's: refused at once if either holds a line.
        self.env["finsync.matching"]._lock_lines(st_lines)
        done = st_lines.filtered("is_reconciled")
        if done:
            raise UserError(
                self.env._(
                    "Bank line %(line)s (%(amount)s on %(date)s) was reconciled meanwhile by "
                    "%(user)s: reload it; nothing was changed.",
                    line=done[0].payment_ref or done[0].display_name,
                    amount=format_amount(self.env, done[0].amount, done[0].currency_id),
                    date=done[0].date,
                    user=done[0].move_id.write_uid.name,
                )
            )
        return st_lines

    @api.model
    def _close_line_exceptions(self, transactions, reason_xmlid, note, ignore=False):
        """Close the open matching exceptions of ``transactions`` with a reason code."""
        exceptions = transactions.exception_ids.filtered(
            lambda exc: exc.is_open and exc.exception_type in LINE_EXCEPTION_TYPES
        )
        if exceptions:
            exceptions._close(self.env.ref(reason_xmlid), note=note, ignore=ignore)
        return exceptions
