import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

_logger = logging.getLogger(__name__)

BINDING_STATES = [
    ("bound", "Bound"),
    ("duplicate", "Possible duplicate"),
    ("conflict", "Conflict"),
    ("waiting", "Waiting for its account"),
]
DUPLICATE_KEYS = [
    ("vat", "Same VAT number"),
    ("iban", "Same IBAN"),
    ("domain_name", "Same e-mail domain and name"),
    ("name_country", "Same name and country"),
]


class FinsyncCrmBinding(models.Model):
    """A Salesforce record bound to its Odoo partner, unique per connector.

    ``crm_values`` and ``odoo_values`` keep, per canonical value, what each
    side said at the last sync: a value both sides changed since then is a
    conflict, a value one side changed flows by the connector's field
    ownership. Written by the sync and the wizards only (no write right).
    """

    _name = "finsync.crm.binding"
    _description = "FinSync CRM Binding"
    _order = "id desc"
    _rec_name = "sf_id"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    backend_id = fields.Many2one(
        "finsync.backend",
        string="Connector",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True, readonly=True
    )
    sf_object = fields.Selection(
        [("Account", "Account"), ("Contact", "Contact")],
        string="Salesforce Object",
        required=True,
        readonly=True,
    )
    sf_id = fields.Char(string="Salesforce Id", required=True, readonly=True)
    sf_account_id = fields.Char(string="Salesforce Account Id", readonly=True, index=True)
    partner_id = fields.Many2one(
        "res.partner", readonly=True, index="btree_not_null", ondelete="set null"
    )
    state = fields.Selection(BINDING_STATES, default="bound", required=True, readonly=True)
    system_modstamp = fields.Char(string="SystemModstamp", readonly=True)
    last_sync_date = fields.Datetime(readonly=True)
    crm_values = fields.Json(string="Last CRM Values", readonly=True)
    odoo_values = fields.Json(string="Last Odoo Values", readonly=True)
    conflict_values = fields.Json(readonly=True)
    duplicate_partner_id = fields.Many2one(
        "res.partner", string="Possible Duplicate", readonly=True
    )
    duplicate_key = fields.Selection(DUPLICATE_KEYS, readonly=True)
    display_crm_name = fields.Char(string="Salesforce Name", compute="_compute_display_crm_name")

    _sql_constraints = [
        (
            "sf_id_unique",
            "UNIQUE(backend_id, sf_id)",
            "A Salesforce record is bound once per connector.",
        ),
    ]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends("crm_values")
    def _compute_display_crm_name(self):
        for binding in self:
            binding.display_crm_name = (binding.crm_values or {}).get("name") or binding.sf_id

    # ------------------------------------------------------------------
    # Exceptions
    # ------------------------------------------------------------------
    def _crm_open_duplicate_exceptions(self):
        labels = dict(self._fields["duplicate_key"]._description_selection(self.env))
        return self.env["finsync.exception"]._open_for_records(
            "duplicate_partner",
            self,
            lambda b: {
                "name": self.env._(
                    "Salesforce account %(account)s may be partner %(partner)s",
                    account=b.display_crm_name,
                    partner=b.duplicate_partner_id.display_name,
                ),
                "description": labels.get(b.duplicate_key),
                "backend_id": b.backend_id.id,
                "crm_binding_id": b.id,
            },
        )

    def _crm_open_conflict_exceptions(self):
        return self.env["finsync.exception"]._open_for_records(
            "master_data_conflict",
            self,
            lambda b: {
                "name": self.env._(
                    "%(partner)s changed in Odoo and in Salesforce",
                    partner=b.partner_id.display_name,
                ),
                "description": ", ".join(sorted(b.conflict_values or {})),
                "backend_id": b.backend_id.id,
                "crm_binding_id": b.id,
            },
        )

    # ------------------------------------------------------------------
    # Decisions (the wizards of conflicts and duplicates)
    # ------------------------------------------------------------------
    def _crm_resolve_conflict(self, choices):
        """Settle a conflict: per value ``choices[key] = (choice, edited value)``, choice
        ``odoo`` (keep Odoo's), ``crm`` (take the CRM's) or ``edit``."""
        self._crm_check_can_decide()
        self.ensure_one()
        if self.state != "conflict":
            raise UserError(
                self.env._("%(name)s has no open conflict.", name=self.display_crm_name)
            )
        writes = {}
        seen = dict(self.crm_values or {})
        for key, data in (self.conflict_values or {}).items():
            choice, edited = choices.get(key, ("odoo", None))
            if choice == "crm":
                writes[key] = data.get("crm")
            elif choice == "edit":
                writes[key] = edited or None
            seen[key] = data.get("crm")
        if writes and self.partner_id:
            # sudo: an accountant's decision (checked above) applied to the bound partner.
            self.partner_id.sudo().write(self._crm_write_vals(writes, None))
        binding = self.sudo()  # sudo: bindings have no write right; the decision was checked
        binding.write({"crm_values": seen, "conflict_values": False, "state": "bound"})
        binding._crm_snapshot_odoo()
        return writes

    def _crm_link(self, partner):
        """Bind a possible duplicate to ``partner`` (the existing one, or a new one)."""
        self._crm_check_can_decide()
        self.ensure_one()
        if self.state != "duplicate":
            raise UserError(
                self.env._("%(name)s is not waiting for a decision.", name=self.display_crm_name)
            )
        if partner.company_id and partner.company_id != self.company_id:
            raise UserError(
                self.env._(
                    "Partner %(partner)s belongs to another company than the connector.",
                    partner=partner.display_name,
                )
            )
        binding = self.sudo()  # sudo: bindings have no write right; the decision was checked
        binding.write(
            {
                "partner_id": partner.id,
                "state": "bound",
                "duplicate_partner_id": False,
                "duplicate_key": False,
            }
        )
        binding._crm_snapshot_odoo()
        waiting = binding.search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("sf_account_id", "=", self.sf_id),
                ("state", "=", "waiting"),
            ]
        )
        waiting._crm_attach_contacts({self.sf_id: binding})
        return partner

    def _crm_link_new_partner(self):
        """Not a duplicate: create the partner from the CRM's values and bind it."""
        self._crm_check_can_decide()
        self.ensure_one()
        countries = self._crm_countries()
        partner = self._crm_create_partners(self.backend_id, [self.crm_values or {}], countries)
        return self._crm_link(partner)

    def _crm_check_can_decide(self):
        if not self.env.user.has_group("finsync_base.group_finsync_accountant"):
            raise AccessError(
                self.env._("Only FinSync accountants decide on CRM conflicts and duplicates.")
            )
