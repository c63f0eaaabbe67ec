import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

# Secrets of Salesforce connectors, read through ``_get_secret`` like the shared ones.
CRM_SECRET_FIELDS = ("crm_private_key", "crm_access_token")
OWNERS = [("crm", "CRM"), ("odoo", "Odoo")]


class FinsyncBackend(models.Model):
    _inherit = "finsync.backend"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    backend_type = fields.Selection(
        selection_add=[("salesforce", "Salesforce")], ondelete={"salesforce": "cascade"}
    )
    crm_auth_flow = fields.Selection(
        [("jwt", "JWT bearer (certificate)"), ("client_credentials", "Client credentials")],
        string="OAuth Flow",
        default="jwt",
        required=True,
        help="JWT bearer: the connected app's certificate signs a token request for the "
        "integration user. Client credentials: the consumer key and secret, with the run-as "
        "user set on the connected app (the API URL is then the org's My Domain).",
    )
    crm_username = fields.Char(
        string="Integration Username", help="The Salesforce user the JWT flow acts as."
    )
    crm_private_key = fields.Text(
        string="Private Key (PEM)",
        groups="base.group_system",
        copy=False,
        help="Unencrypted PEM RSA key of the certificate uploaded to the connected app.",
    )
    crm_access_token = fields.Char(groups="base.group_system", copy=False, readonly=True)
    crm_instance_url = fields.Char(
        string="Instance URL", groups="base.group_system", copy=False, readonly=True
    )
    crm_overlap_minutes = fields.Integer(
        string="Overlap Window (min)",
        default=5,
        help="Each pull reads again the records changed this long before the watermark: "
        "Salesforce commits some records late with an earlier SystemModstamp. Versions "
        "already read are recognised and skipped.",
    )
    crm_bulk_threshold = fields.Integer(
        string="Bulk Load From (records)",
        default=10000,
        help="A first load of an object with at least this many records uses Bulk API 2.0.",
    )
    crm_vat_field = fields.Char(
        string="VAT Field",
        help="API name of the Account field holding the VAT number (e.g. VAT_Number__c).",
    )
    crm_iban_field = fields.Char(
        string="IBAN Field", help="API name of the Account field holding the IBAN, if any."
    )
    crm_owner_name = fields.Selection(OWNERS, string="Name Owned By", default="crm", required=True)
    crm_owner_address = fields.Selection(
        OWNERS, string="Address Owned By", default="crm", required=True
    )
    crm_owner_phone = fields.Selection(
        OWNERS, string="Phone and Website Owned By", default="crm", required=True
    )
    crm_owner_contacts = fields.Selection(
        OWNERS, string="Contacts Owned By", default="crm", required=True
    )
    crm_owner_vat = fields.Selection(OWNERS, string="VAT Owned By", default="odoo", required=True)
    crm_owner_bank = fields.Selection(
        OWNERS, string="Bank Accounts Owned By", default="odoo", required=True
    )
    crm_owner_payment_terms = fields.Selection(
        OWNERS, string="Payment Terms Owned By", default="odoo", required=True
    )
    crm_owner_credit_limit = fields.Selection(
        OWNERS, string="Credit Limit Owned By", default="odoo", required=True
    )
    crm_account_mark = fields.Char(string="Accounts Pulled Up To", readonly=True, copy=False)
    crm_contact_mark = fields.Char(string="Contacts Pulled Up To", readonly=True, copy=False)
    crm_deleted_mark = fields.Char(string="Deletions Checked Up To", readonly=True, copy=False)
    crm_last_accounts = fields.Integer(string="Accounts Read", readonly=True, copy=False)
    crm_last_contacts = fields.Integer(string="Contacts Read", readonly=True, copy=False)
    crm_last_deleted = fields.Integer(string="Deletions Read", readonly=True, copy=False)
    crm_api_used = fields.Integer(string="API Requests Used", readonly=True, copy=False)
    crm_api_max = fields.Integer(string="API Requests Allowed", readonly=True, copy=False)
    crm_binding_count = fields.Integer(compute="_compute_crm_binding_count")

    _sql_constraints = [
        (
            "crm_overlap_positive",
            "CHECK(crm_overlap_minutes >= 0)",
            "The overlap window cannot be negative.",
        ),
        (
            "crm_bulk_threshold_positive",
            "CHECK(crm_bulk_threshold > 0)",
            "The bulk load threshold must be positive.",
        ),
    ]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends_context("uid")
    def _compute_has_credentials(self):
        result = super()._compute_has_credentials()
        # sudo: only tells whether a key exists, never its value.
        for backend, sudo_backend in zip(self, self.sudo(), strict=True):
            backend.has_credentials = backend.has_credentials or bool(sudo_backend.crm_private_key)
        return result

    def _compute_crm_binding_count(self):
        counts = dict(
            self.env["finsync.crm.binding"]._read_group(
                [("backend_id", "in", self.ids)], ["backend_id"], ["__count"]
            )
        )
        for backend in self:
            backend.crm_binding_count = counts.get(backend, 0)

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    def write(self, vals):
        # A token belongs to the org and app it was issued for: forget it when they change.
        result = super().write(vals)
        if {"api_url", "environment", "client_id", "crm_auth_flow"} & set(vals):
            # sudo: the token fields are Settings-only; clearing them reveals nothing.
            self.sudo().write({"crm_access_token": False, "crm_instance_url": False})
        return result

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_view_crm_bindings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_crm.action_finsync_crm_binding"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _get_secret(self, field_name):
        if field_name not in CRM_SECRET_FIELDS:
            return super()._get_secret(field_name)
        self.ensure_one()
        # sudo: connectors run as technical users without base.group_system.
        return self.sudo()[field_name] or False

    def _pull_count_transactions(self):
        """What a Salesforce pull brings are bound records, not transactions: its
        "new / already known" counts bindings (records read again are "known")."""
        if self.backend_type != "salesforce":
            return super()._pull_count_transactions()
        # sudo: a count of the connector's bindings, whatever the caller's companies.
        return self.env["finsync.crm.binding"].sudo().search_count([("backend_id", "=", self.id)])

    def _crm_token_store(self):
        self.ensure_one()
        return _TokenStore(self)

    def _crm_ownership(self):
        """``{field set: "crm" | "odoo"}`` of this connector."""
        self.ensure_one()
        return {
            name: self[f"crm_owner_{name}"]
            for name in (
                "name",
                "address",
                "phone",
                "contacts",
                "vat",
                "bank",
                "payment_terms",
                "credit_limit",
            )
        }

    def _crm_record_usage(self, used, maximum):
        """Keep the org's API usage (``Sforce-Limit-Info``) read by the last pull."""
        if used is None:
            return
        # sudo: the pull's counters are read-only for people.
        self.sudo().write({"crm_api_used": used, "crm_api_max": maximum})

    def _crm_bound_ids(self, sobject):
        """Salesforce ids of ``sobject`` bound by this connector."""
        self.ensure_one()
        bindings = (
            self.env["finsync.crm.binding"]
            .sudo()  # sudo: the pull compares ids, whatever the caller's companies
            .search([("backend_id", "=", self.id), ("sf_object", "=", sobject)])
        )
        return set(bindings.mapped("sf_id"))

    def _crm_check_type(self):
        if any(backend.backend_type != "salesforce" for backend in self):
            raise UserError(self.env._("This is not a Salesforce connector."))


class _TokenStore:
    """The access token kept on the connector (Settings-only fields) between pulls."""

    def __init__(self, backend):
        self.backend = backend

    def load(self):
        token = self.backend._get_secret("crm_access_token")
        # sudo: the instance URL is Settings-only like the token it goes with.
        instance_url = self.backend.sudo().crm_instance_url
        return (token, instance_url) if token and instance_url else None

    def save(self, token, instance_url):
        # sudo: the pull keeps its token; nobody reads it but connector code.
        self.backend.sudo().write({"crm_access_token": token, "crm_instance_url": instance_url})
