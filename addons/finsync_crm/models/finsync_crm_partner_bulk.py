"""Partners of a Salesforce pull inserted set-based: the rows ``res.partner.create`` writes.

A pull creates thousands of partners a page (companies from Accounts, their
contacts from Contacts), quietly (no followers, no creation message). Odoo's
``create`` spends most of their time per record: the defaults of every field
and the precomputed salesperson per partner (a new record each), then the
stored computed fields recomputed one field at a time at the next flush. For
these partners the outcome is fully determined, so this service writes the
same ``res_partner`` rows with one INSERT a page: every given value and
default converted as ``create`` converts it (company-dependent ones included),
and base's and mail's stored computed fields (complete name, commercial
entity and company name, share flag, normalised email, salesperson, company
ID) as their computes give them. Then the ORM is told (``modified``, as its
own ``create`` tells it): what depends on the new partners is recomputed, and
so are the stored fields other installed modules compute (sanitized phone,
Peppol identifiers), as after Odoo's INSERT. Bank accounts are created by the
ORM, as ``create`` creates them, and the constraints run as in ``create``.

Whenever the outcome is not certain, the partners go through the ORM
``create``: ``_bulk_refusal`` lists each case and why. A test creates the
same partners both ways and compares every stored column.
"""

import itertools
import logging

from odoo import api, models, tools
from odoo.tools.misc import clean_context

from odoo.addons.finsync_base.models.bulk_sql import foreign_overrides, insert_rows, next_ids

_logger = logging.getLogger(__name__)

# The methods whose effect the set-based path reproduces: another module's
# version of one of them would be skipped by the INSERT, so the ORM is used.
BULK_REPLACED_METHODS = {
    "res.partner": (
        "create",
        "_create",
        "_prepare_create_values",
        "_add_missing_default_values",
        "_add_precomputed_values",
        "default_get",
        "_fields_sync",
        "_children_sync",
        "_handle_first_contact_creation",
        "_clean_website",
        "_get_complete_name",
        "_compute_complete_name",
        "_compute_commercial_partner",
        "_compute_commercial_company_name",
        "_compute_partner_share",
        "_compute_email_normalized",
        "_compute_user_id",
        "_compute_company_registry",
        "_validate_fields",
    ),
}
# Modules whose versions of those methods the path reproduces ("base" is the
# ORM): mail's create subscribes and logs (skipped with ``tracking_disable``),
# account's create ranks partners in a search mode (refused below).
BULK_KNOWN_MODULES = frozenset({"base", "mail", "account"})
# Stored computed fields whose values the rows carry (see ``_computed_values``).
COMPUTED_HERE = frozenset(
    {
        "complete_name",
        "commercial_partner_id",
        "commercial_company_name",
        "partner_share",
        "email_normalized",
        "company_registry",
        "user_id",
    }
)
# Field types whose column value depends on the given value only (not on the
# other values, as a monetary amount's currency does).
MEMO_TYPES = frozenset({"boolean", "integer", "many2one", "selection", "char"})
# Context keys that make ``create`` do more than the rows (an import, customer
# or supplier ranks set by a search mode).
ORM_CONTEXT_KEYS = ("import_file", "_import_current_module", "res_partner_search_mode")


class FinsyncCrmPartnerBulk(models.AbstractModel):
    """Create partners: one INSERT where the result is certain, the ORM otherwise.

    ``_create_partners(Partner, vals_list)`` is ``Partner.create(vals_list)``
    (``Partner``: ``res.partner`` with the caller's environment and context),
    returning the partners in the order of ``vals_list``.
    """

    _name = "finsync.crm.partner.bulk"
    _description = "FinSync set-based creation of CRM partners"

    # ------------------------------------------------------------------
    # Entry point
    # ------------------------------------------------------------------
    @api.model
    def _create_partners(self, Partner, vals_list):
        if not vals_list:
            return Partner.browse()
        reason = self._bulk_refusal(Partner, vals_list)
        if reason:
            _logger.info("FinSync: %d partners created through the ORM: %s", len(vals_list), reason)
            return Partner.create(vals_list)
        return self._insert_partners(Partner, vals_list)

    # ------------------------------------------------------------------
    # When the ORM must do it
    # ------------------------------------------------------------------
    @api.model
    def _bulk_refusal(self, Partner, vals_list):
        """Why these partners cannot be inserted set-based (a sentence), or None.

        - chatter wanted (no ``tracking_disable``): mail's ``create`` subscribes
          the user and logs a creation message;
        - an import, or a customer/supplier search mode: ``create`` does more;
        - a contact without Odoo's ``_partners_skip_fields_sync``: ``create``
          syncs it from its parent one write at a time (the caller gives the
          synced values with that switch);
        - values the rows do not carry: a field with an inverse method,
          relations other than new bank accounts, a computed field the ORM
          would recompute over the given value;
        - another module's precomputed field: computed on a new record first;
        - another module overriding a method the rows replace.
        """
        context = Partner.env.context
        if not context.get("tracking_disable"):
            return "followers and creation messages wanted"
        if any(context.get(key) for key in ORM_CONTEXT_KEYS):
            return "an import or a search mode"
        if not context.get("_partners_skip_fields_sync") and any(
            vals.get("parent_id") for vals in vals_list
        ):
            return "contacts synced from their parent by create"
        unsupported = set()
        for vals in vals_list:
            unsupported.update(name for name in vals if not self._bulk_value(Partner, name, vals))
        if unsupported:
            return f"values it does not handle ({', '.join(sorted(unsupported))})"
        precomputed = {
            name for name, field in Partner._fields.items() if field.precompute
        } - COMPUTED_HERE
        if precomputed:
            return f"precomputed fields of other modules ({', '.join(sorted(precomputed))})"
        foreign = self._foreign_overrides()
        if foreign:
            return "methods overridden by other modules (" + ", ".join(sorted(foreign)) + ")"
        return None

    @api.model
    def _bulk_value(self, Partner, name, vals):
        """Whether the rows carry the value of ``name`` as ``create`` stores it."""
        field = Partner._fields.get(name)
        if field is None:
            return False  # create raises its own error
        if name == "bank_ids":
            return all(command[0] == 0 for command in vals[name] or [])
        if field.type in ("one2many", "many2many"):
            return False
        if not field.store:
            return not field.inverse
        if field.compute and field.readonly and not field.precompute:
            return False  # recomputed over the given value
        return bool(field.column_type)

    @api.model
    def _foreign_overrides(self):
        """``{module: ["model.method", ...]}`` for the modules outside
        ``BULK_KNOWN_MODULES`` defining a method of ``BULK_REPLACED_METHODS``."""
        return foreign_overrides(self.env, BULK_REPLACED_METHODS, BULK_KNOWN_MODULES)

    # ------------------------------------------------------------------
    # Rows
    # ------------------------------------------------------------------
    @api.model
    def _insert_partners(self, Partner, vals_list):
        env = Partner.env
        Partner.check_access("create")
        env.flush_all()
        ids = next_ids(env, Partner._table, len(vals_list))
        stored_list = self._stored_values(Partner, vals_list)
        parents = self._parents(Partner, stored_list)
        columns = [
            field
            for name, field in Partner._fields.items()
            if field.store and field.column_type and name != "id"
        ]
        values_list = [
            {**stored, **self._computed_values(Partner, partner_id, stored, parents)}
            for partner_id, stored in zip(ids, stored_list, strict=True)
        ]
        insert_rows(
            env,
            env._("%(count)s partners", count=len(ids)),
            Partner._table,
            self._rows(Partner, ids, values_list, columns),
        )
        partners = Partner.browse(ids)
        self._after_insert(partners, stored_list, values_list)
        return partners

    @api.model
    def _rows(self, Partner, ids, values_list, columns):
        """The ``res_partner`` rows: each value converted as ``create`` converts it
        (``convert_to_column_insert``), NULL where ``create`` writes nothing.

        Conversions that depend on the value only (ids, selections, flags,
        company-dependent values, which look up the fallback default each time)
        are made once per distinct value.
        """
        memo = {}
        rows = []
        for partner_id, values in zip(ids, values_list, strict=True):
            row = {"id": partner_id}
            for field in columns:
                name = field.name
                if name not in values:
                    row[name] = None
                    continue
                value = values[name]
                if field.type in MEMO_TYPES and isinstance(value, bool | int | str):
                    key = (name, value)
                    if key not in memo:
                        memo[key] = field.convert_to_column_insert(value, Partner, values)
                    row[name] = memo[key]
                else:
                    row[name] = field.convert_to_column_insert(value, Partner, values)
            rows.append(row)
        return rows

    @api.model
    def _stored_values(self, Partner, vals_list):
        """The stored values ``create`` inserts: the given ones cleaned as
        ``res.partner.create`` cleans them, the defaults of the others (asked once
        per set of given fields, as ``create`` asks them), the log columns."""
        env = Partner.env
        now = env.cr.now()
        defaults = {}
        result = []
        for vals in vals_list:
            vals = dict(vals)
            if vals.get("website"):
                vals["website"] = Partner._clean_website(vals["website"])
            if vals.get("parent_id"):
                vals["company_name"] = False
            given = frozenset(vals)
            if given not in defaults:
                defaults[given] = Partner.default_get(
                    [name for name in Partner._fields if name not in given]
                )
            stored = {
                name: value
                for name, value in {**defaults[given], **vals}.items()
                if Partner._fields[name].store
            }
            stored.update(create_uid=env.uid, create_date=now, write_uid=env.uid, write_date=now)
            result.append(stored)
        return result

    @api.model
    def _parents(self, Partner, stored_list):
        """``{parent id: what the new partners' computes read of it}``, read once."""
        parents = Partner.browse(
            {vals["parent_id"] for vals in stored_list if vals.get("parent_id")}
        )
        result = {}
        for parent in parents:
            commercial = parent.commercial_partner_id
            result[parent.id] = {
                "name": parent.sudo().name,
                "commercial_id": commercial.id,
                "commercial_is_company": commercial.is_company,
                "commercial_name": commercial.name,
                "user_id": parent.user_id.id,
            }
        return result

    @api.model
    def _computed_values(self, Partner, partner_id, stored, parents):
        """Base's and mail's stored computed fields of a new partner, as their
        computes give them (a given editable one is kept, as ``create`` keeps it)."""
        parent = parents.get(stored.get("parent_id"))
        is_company = bool(stored.get("is_company"))
        company_name = stored.get("company_name")
        if is_company or not parent:
            commercial_id = partner_id
            commercial_is_company, commercial_name = is_company, stored.get("name")
        else:
            commercial_id = parent["commercial_id"]
            commercial_is_company = parent["commercial_is_company"]
            commercial_name = parent["commercial_name"]
        commercial_company_name = (
            (commercial_is_company and commercial_name) or company_name or False
        )
        values = {
            "commercial_partner_id": commercial_id,
            "commercial_company_name": commercial_company_name,
            "complete_name": self._complete_name(
                Partner, stored, parent, company_name, commercial_company_name
            ),
            "partner_share": True,  # no user yet
            "email_normalized": tools.email_normalize(stored.get("email"), strict=False),
            "company_registry": False,
            "user_id": (not is_company and parent and parent["user_id"]) or False,
        }
        return {name: value for name, value in values.items() if name not in stored}

    @api.model
    def _complete_name(self, Partner, stored, parent, company_name, commercial_company_name):
        """``res.partner._get_complete_name`` of the new partner's values."""
        name = stored.get("name") or ""
        if company_name or parent:
            partner_type = stored.get("type")
            if not name and partner_type in Partner._complete_name_displayed_types:
                name = dict(
                    Partner._fields["type"]._description_selection(Partner.with_context({}).env)
                )[partner_type]
            if not stored.get("is_company"):
                name = f"{commercial_company_name or (parent or {}).get('name')}, {name}"
        return name.strip()

    # ------------------------------------------------------------------
    # After the insert
    # ------------------------------------------------------------------
    @api.model
    def _after_insert(self, partners, stored_list, values_list):
        """Tell the ORM about the new rows as its ``create`` does, then create the
        bank accounts and run the constraints as ``create`` runs them.

        The fields the rows carry are protected (as ``create`` protects the given
        ones); the other stored computed fields of the new partners (other
        modules') are computed by the ORM, as after its own INSERT.
        """
        env = partners.env
        env.invalidate_all()
        self._cache_new(partners, values_list)
        carried = {}
        for partner, values in zip(partners, values_list, strict=True):
            carried.setdefault(frozenset(values), []).append(partner.id)
        # Stored copies of a field nobody gave (the image sizes of an empty image,
        # kept as attachments) are empty, as cached: nothing to compute or store.
        empty_copies = [
            field
            for field in partners._fields.values()
            if field.store
            and not field.column_type
            and field.related
            and "." not in field.related
            and not any(values.get(field.related) for values in values_list)
        ]
        protected = [
            ([partners._fields[name] for name in names] + empty_copies, partners.browse(ids))
            for names, ids in carried.items()
        ]
        with env.protecting(protected):
            partners.modified(list(partners._fields), create=True)
        bank_vals = [
            {**command[2], "partner_id": partner.id}
            for partner, stored in zip(partners, stored_list, strict=True)
            for command in stored.get("bank_ids") or []
        ]
        if bank_vals:
            # As the one2many's create: the context without its defaults.
            env["res.partner.bank"].with_context(clean_context(env.context)).create(bank_vals)
        partners._validate_fields({name for stored in stored_list for name in stored})
        partners.check_access("create")

    @api.model
    def _cache_new(self, partners, values_list):
        """Put the new partners in the cache as ``create`` leaves them: their values,
        no relations, nothing in the stored fields nobody gave or computes (so the
        computes after do not query for them, e.g. the image fields' attachments)."""
        cache = partners.env.cache
        for name, field in partners._fields.items():
            if field.type in ("one2many", "many2many"):
                cache.update(partners, field, itertools.repeat(()))
            elif (field.related and not field.column_type) or (field.store and not field.compute):
                empty = field.convert_to_cache(None, partners)
                cache.update(
                    partners,
                    field,
                    [
                        empty
                        if values.get(name) is None
                        else field.convert_to_cache(values[name], partners)
                        for values in values_list
                    ],
                )
            else:
                given = [
                    (partner, values[name])
                    for partner, values in zip(partners, values_list, strict=True)
                    if name in values
                ]
                if given:
                    cache.update(
                        partners.browse([partner.id for partner, _value in given]),
                        field,
                        [field.convert_to_cache(value, partner) for partner, value in given],
                    )
