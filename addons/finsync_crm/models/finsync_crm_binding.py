import json
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.finsync_base.models.bulk_sql import CONCURRENCY_ERRORS
from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters import salesforce_mapper as mapper

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
    # Processing: events -> partners
    # ------------------------------------------------------------------
    @api.model
    def _crm_process_events(self, backend, events):
        """Apply a page of new events at once; when the page fails as a whole its
        events are processed one by one, each failure recorded on its event."""
        try:
            with self.env.cr.savepoint():
                self._crm_apply_events(backend, events)
        except (RetryableJobError, *CONCURRENCY_ERRORS):
            raise
        except Exception:  # noqa: BLE001 - any other error: one by one, failures recorded
            _logger.info("Salesforce %s: page failed as a batch, one by one", backend.id)
            return events._process()
        events._write_processing(
            {
                "state": "done",
                "processed_at": fields.Datetime.now(),
                "last_error": False,
                "attempts": 1,
            }
        )
        backend._mark_sync_success()
        return True

    @api.model
    def _crm_apply_events(self, backend, events):
        """Apply stored record versions and deletions (one page at a time, set-based)."""
        records = {"Account": [], "Contact": [], "deleted": []}
        # sudo: the payloads are accountant-only; processing runs as the pulling user.
        payloads = events.sudo().with_context(bin_size=False).mapped("payload")
        for event, raw in zip(events, payloads, strict=True):
            document = mapper_load(self.env["finsync.event"]._decode_binary(raw), event)
            records.setdefault(event.event_type, []).append(document)
        if records["Account"]:
            self._crm_sync_accounts(backend, records["Account"])
        if records["Contact"]:
            self._crm_sync_contacts(backend, records["Contact"])
        if records["deleted"]:
            self._crm_sync_deletions(backend, records["deleted"])
        if records.get("Opportunity") or records.get("OpportunityLineItem") or records["deleted"]:
            self.env["finsync.crm.deal"]._crm_sync_deals(
                backend,
                records.get("Opportunity") or [],
                records.get("OpportunityLineItem") or [],
                records["deleted"],
            )
        return True

    @api.model
    def _crm_latest(self, records):
        """The newest version of each record of a page (``{Id: (record, stamp)}``)."""
        latest = {}
        for record in records:
            stamp = mapper.canonical_stamp(record.get("SystemModstamp"))
            known = latest.get(record["Id"])
            if not known or known[1] < stamp:
                latest[record["Id"]] = (record, stamp)
        return latest

    @api.model
    def _crm_bindings(self, backend, sf_ids):
        # sudo: bindings are written by the sync only, whatever the caller's rights.
        bindings = self.sudo().search([("backend_id", "=", backend.id), ("sf_id", "in", sf_ids)])
        return {binding.sf_id: binding for binding in bindings}

    @api.model
    def _crm_sync_accounts(self, backend, records):
        latest = self._crm_latest(records)
        bindings = self._crm_bindings(backend, list(latest))
        countries = self._crm_countries()
        values = {}
        for sf_id, (record, stamp) in latest.items():
            binding = bindings.get(sf_id)
            if binding and binding.system_modstamp and binding.system_modstamp >= stamp:
                continue  # an older version read after a newer one
            crm = mapper.map_account(record, backend.crm_vat_field, backend.crm_iban_field)
            crm["country"] = self._crm_country_code(crm["country"], countries)
            values[sf_id] = (crm, stamp)
        fresh = {sf_id: crm for sf_id, (crm, _stamp) in values.items() if sf_id not in bindings}
        duplicates = self._crm_find_duplicates(backend, fresh)
        new = [sf_id for sf_id in fresh if sf_id not in duplicates]
        partners = self._crm_create_partners(backend, [fresh[sf_id] for sf_id in new], countries)
        now = fields.Datetime.now()
        created = self.sudo().create(
            [
                self._crm_binding_vals(backend, "Account", sf_id, values[sf_id], now)
                | {"partner_id": partner.id}
                for sf_id, partner in zip(new, partners, strict=True)
            ]
            + [
                self._crm_binding_vals(backend, "Account", sf_id, values[sf_id], now)
                | {
                    "state": "duplicate",
                    "duplicate_partner_id": duplicates[sf_id][0].id,
                    "duplicate_key": duplicates[sf_id][1],
                }
                for sf_id in duplicates
            ]
        )
        created.filtered("partner_id")._crm_snapshot_odoo()
        created.filtered(lambda b: b.state == "duplicate")._crm_open_duplicate_exceptions()
        existing = {sf_id: bindings[sf_id] for sf_id in values if sf_id in bindings}
        self._crm_update(backend, existing, values, mapper.ACCOUNT_SETS, countries)
        return created

    @api.model
    def _crm_sync_contacts(self, backend, records):
        if backend.crm_owner_contacts != "crm":
            return self.browse()  # Odoo keeps its contacts
        latest = self._crm_latest(records)
        bindings = self._crm_bindings(backend, list(latest))
        values = {}
        for sf_id, (record, stamp) in latest.items():
            binding = bindings.get(sf_id)
            if binding and binding.system_modstamp and binding.system_modstamp >= stamp:
                continue
            values[sf_id] = (mapper.map_contact(record), stamp)
        accounts = self._crm_bindings(
            backend, list({crm["account"] for crm, _stamp in values.values() if crm["account"]})
        )
        fresh = [sf_id for sf_id in values if sf_id not in bindings]
        now = fields.Datetime.now()
        created = self.sudo().create(
            [
                self._crm_binding_vals(backend, "Contact", sf_id, values[sf_id], now)
                | {"state": "waiting", "sf_account_id": values[sf_id][0]["account"]}
                for sf_id in fresh
            ]
        )
        created._crm_attach_contacts(accounts)
        existing = {sf_id: bindings[sf_id] for sf_id in values if sf_id in bindings}
        self._crm_update(backend, existing, values, ("contacts",), {})
        return created

    def _crm_attach_contacts(self, accounts=None):
        """Create the child contacts of waiting contact bindings whose account has a partner."""
        if accounts is None:
            accounts = self._crm_bindings(
                self.backend_id[:1], list(set(self.mapped("sf_account_id")))
            )
        ready = self.filtered(
            lambda b: b.state == "waiting"
            and b.sf_account_id in accounts
            and accounts[b.sf_account_id].partner_id
        )
        if not ready:
            return
        partners = self._crm_create_contact_partners(
            [
                {
                    "type": "contact",
                    "parent_id": accounts[b.sf_account_id].partner_id.id,
                    "name": b.crm_values.get("name") or b.sf_id,
                    "email": b.crm_values.get("email"),
                    "phone": b.crm_values.get("phone"),
                    "function": b.crm_values.get("function"),
                }
                for b in ready
            ]
        )
        for binding, partner in zip(ready, partners, strict=True):
            binding.write({"partner_id": partner.id, "state": "bound"})
        ready._crm_snapshot_odoo()

    @api.model
    def _crm_binding_vals(self, backend, sobject, sf_id, crm_stamp, now):
        crm, stamp = crm_stamp
        return {
            "backend_id": backend.id,
            "sf_object": sobject,
            "sf_id": sf_id,
            "system_modstamp": stamp,
            "crm_values": crm,
            "last_sync_date": now,
        }

    @api.model
    def _crm_countries(self):
        """``{lower-case name or code: country}``, loaded once per page."""
        countries = {}
        for country in self.env["res.country"].search([]):
            countries[country.code.lower()] = country
            countries[country.with_context(lang="en_US").name.lower()] = country
        return countries

    @api.model
    def _crm_country_code(self, text, countries):
        country = countries.get((text or "").strip().lower())
        return country.code if country else text

    @api.model
    def _crm_partner_vals(self, backend, crm, countries):
        country = countries.get((crm.get("country") or "").lower())
        vals = {
            "name": crm.get("name") or self.env._("(no name)"),
            "is_company": True,
            "company_id": backend.company_id.id,
            "street": crm.get("street"),
            "city": crm.get("city"),
            "zip": crm.get("zip"),
            "country_id": country.id if country else False,
            "phone": crm.get("phone"),
            "website": crm.get("website"),
            "vat": crm.get("vat"),
        }
        if crm.get("iban"):
            vals["bank_ids"] = [fields.Command.create({"acc_number": crm["iban"]})]
        return vals

    @api.model
    def _crm_create_partners(self, backend, crm_list, countries):
        # sudo: the sync creates partners for whoever pulls (connectors hold no partner rights).
        return (
            self.env["res.partner"]
            .sudo()
            .create([self._crm_partner_vals(backend, crm, countries) for crm in crm_list])
        )

    def _crm_odoo_values(self):
        """``{binding: canonical values}`` of the bound partners as Odoo has them now."""
        result = {}
        for binding in self:
            partner = binding.partner_id.sudo()  # sudo: comparing, whatever the caller's rights
            result[binding] = {
                "name": partner.name or None,
                "street": partner.street or None,
                "city": partner.city or None,
                "zip": partner.zip or None,
                "country": partner.country_id.code or None,
                "phone": partner.phone or None,
                "website": partner.website or None,
                "vat": mapper.normalize_code(partner.vat) if partner.vat else None,
                "email": partner.email or None,
                "function": partner.function or None,
            }
        return result

    def _crm_snapshot_odoo(self):
        for binding, values in self._crm_odoo_values().items():
            binding.odoo_values = values

    @api.model
    def _crm_update(self, backend, bindings, values, sets, countries):
        """Apply new CRM versions to bound partners, by ownership; open conflicts."""
        ownership = backend._crm_ownership()
        now = fields.Datetime.now()
        conflicted = self.browse()
        for sf_id, binding in bindings.items():
            crm, stamp = values[sf_id]
            if binding.state in ("duplicate", "waiting"):
                binding.write({"crm_values": crm, "system_modstamp": stamp, "last_sync_date": now})
                continue
            odoo_now = binding._crm_odoo_values()[binding]
            writes, conflicts, crm_seen = binding._crm_reconcile(crm, odoo_now, ownership, sets)
            if writes and binding.partner_id:
                binding.partner_id.sudo().write(self._crm_write_vals(writes, countries))
            if ownership.get("bank") == "crm" and "iban" in crm:
                binding._crm_add_bank_account(crm["iban"])
            binding.write(
                {
                    "crm_values": crm_seen,
                    "system_modstamp": stamp,
                    "last_sync_date": now,
                    "state": "conflict" if conflicts else "bound",
                    "conflict_values": conflicts or False,
                }
            )
            binding._crm_snapshot_odoo_except(conflicts)
            if conflicts:
                conflicted |= binding
        conflicted._crm_open_conflict_exceptions()
        return conflicted

    def _crm_reconcile(self, crm, odoo_now, ownership, sets):
        """``(writes, conflicts, crm values seen)`` of a new CRM version of this binding.

        Per value: changed on both sides to different values -> a conflict (the
        last values stay as they were until someone decides); changed in the
        CRM only -> written when the CRM owns its field set, else kept in
        Odoo; unchanged in the CRM -> nothing.
        """
        self.ensure_one()
        seen = dict(self.crm_values or {})
        odoo_seen = self.odoo_values or {}
        writes, conflicts = {}, {}
        for set_name in sets:
            for key in mapper.FIELD_SETS[set_name]:
                new = crm.get(key)
                if mapper.same(key, new, seen.get(key)):
                    continue
                odoo = odoo_now.get(key)
                odoo_changed = not mapper.same(key, odoo, odoo_seen.get(key))
                if odoo_changed and not mapper.same(key, new, odoo):
                    conflicts[key] = {
                        "set": set_name,
                        "odoo": odoo,
                        "crm": new,
                        "last": odoo_seen.get(key),
                    }
                    continue
                seen[key] = new
                if ownership.get(set_name) == "crm" and not mapper.same(key, new, odoo):
                    writes[key] = new
        for key, value in crm.items():
            seen.setdefault(key, value)
        return writes, conflicts, seen

    def _crm_add_bank_account(self, iban):
        """A CRM-owned IBAN the partner lacks is added (bank accounts are never removed)."""
        self.ensure_one()
        partner = self.partner_id.sudo()  # sudo: the sync keeps CRM-owned bank accounts
        if not iban or not partner or iban in partner.bank_ids.mapped("sanitized_acc_number"):
            return
        self.env["res.partner.bank"].sudo().create({"partner_id": partner.id, "acc_number": iban})

    def _crm_snapshot_odoo_except(self, conflicts):
        self.ensure_one()
        values = dict(self._crm_odoo_values()[self])
        for key in conflicts:
            values[key] = (self.odoo_values or {}).get(key)
        self.odoo_values = values

    @api.model
    def _crm_write_vals(self, writes, countries):
        vals = dict(writes)
        if "country" in vals:
            country = (countries or self._crm_countries()).get((vals.pop("country") or "").lower())
            vals["country_id"] = country.id if country else False
        return vals

    # ------------------------------------------------------------------
    # Duplicates
    # ------------------------------------------------------------------
    @api.model
    def _crm_find_duplicates(self, backend, fresh):
        """``{sf_id: (partner, key)}`` of new accounts that likely exist in Odoo already.

        Keys, strongest first: the same VAT number, the same IBAN, the same
        normalised name with the same e-mail or website domain, the same
        normalised name in the same country. Three queries for the whole page.
        """
        if not fresh:
            return {}
        company = backend.company_id.id
        vats = {crm["vat"] for crm in fresh.values() if crm.get("vat")}
        vat_sql = SQL("regexp_replace(upper(p.vat), '[^A-Z0-9]', '', 'g')")
        by_vat = (
            self._crm_partners_by_sql(vat_sql, SQL("%s IN %s", vat_sql, tuple(vats)), company)
            if vats
            else {}
        )
        by_iban = self._crm_partners_by_iban(
            {crm["iban"] for crm in fresh.values() if crm.get("iban")}, company
        )
        by_name = self._crm_partners_by_name(
            {mapper.normalize_name(crm.get("name")) for crm in fresh.values()} - {""}, company
        )
        found = {}
        for sf_id, crm in fresh.items():
            match = None
            if crm.get("vat") and by_vat.get(crm["vat"]):
                match = (by_vat[crm["vat"]][0], "vat")
            elif crm.get("iban") and by_iban.get(crm["iban"]):
                match = (by_iban[crm["iban"]][0], "iban")
            else:
                match = self._crm_match_by_name(crm, by_name)
            if match:
                found[sf_id] = match
        return found

    @api.model
    def _crm_match_by_name(self, crm, by_name):
        candidates = by_name.get(mapper.normalize_name(crm.get("name")), [])
        domain = mapper.domain_of(crm.get("website"))
        if domain:
            for partner in candidates:
                if domain in (mapper.domain_of(partner.email), mapper.domain_of(partner.website)):
                    return partner, "domain_name"
        if crm.get("country"):
            for partner in candidates:
                if partner.country_id.code == crm["country"]:
                    return partner, "name_country"
        return None

    @api.model
    def _crm_partners_by_sql(self, key_sql, condition, company):
        """``{key: partners}`` of the companies (no contacts) meeting ``condition``."""
        self.env["res.partner"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT %s, p.id FROM res_partner p
                 WHERE p.active AND p.parent_id IS NULL
                   AND (p.company_id IS NULL OR p.company_id = %s) AND %s
                 ORDER BY p.id
                """,
                key_sql,
                company,
                condition,
            )
        )
        result = {}
        # sudo: comparing, whatever the caller's rights on partners.
        Partner = self.env["res.partner"].sudo()
        for key, partner_id in self.env.cr.fetchall():
            result.setdefault(key, []).append(Partner.browse(partner_id))
        return result

    @api.model
    def _crm_partners_by_iban(self, ibans, company):
        if not ibans:
            return {}
        # sudo: bank accounts are compared, never shown.
        banks = (
            self.env["res.partner.bank"]
            .sudo()
            .search(
                [
                    ("sanitized_acc_number", "in", list(ibans)),
                    ("partner_id.active", "=", True),
                    ("company_id", "in", [False, company]),
                ],
                order="id",
            )
        )
        result = {}
        for bank in banks:
            result.setdefault(bank.sanitized_acc_number, []).append(
                bank.partner_id.commercial_partner_id
            )
        return result

    @api.model
    def _crm_partners_by_name(self, names, company):
        """``{normalised name: partners}``: one query on a prefix, checked in Python."""
        if not names:
            return {}
        prefixes = {f"{name[:6]}%" for name in names}
        candidates = self._crm_partners_by_sql(
            SQL("p.name"),
            SQL(
                "regexp_replace(lower(p.name), '[^a-z0-9]', '', 'g') LIKE ANY(%s)",
                list(prefixes),
            ),
            company,
        )
        result = {}
        for partners in candidates.values():
            for partner in partners:
                key = mapper.normalize_name(partner.name)
                if key in names:
                    result.setdefault(key, []).append(partner)
        return result

    # ------------------------------------------------------------------
    # Deletions
    # ------------------------------------------------------------------
    @api.model
    def _crm_sync_deletions(self, backend, items):
        """Unbind deleted records; archive their partners unless invoices or orders use them."""
        bindings = self.browse(
            [b.id for b in self._crm_bindings(backend, [item["id"] for item in items]).values()]
        ).sudo()
        partners = bindings.partner_id
        unused = partners - self._crm_partners_in_use(partners)
        if unused:
            # sudo: the sync archives what it created for whoever pulls.
            unused.sudo().write({"active": False})
        _logger.info(
            "Salesforce %s: %d records unbound, %d partners archived",
            backend.id,
            len(bindings),
            len(unused),
        )
        bindings.unlink()
        return unused

    @api.model
    def _crm_partners_in_use(self, partners):
        """The partners (or their contacts) that journal entries or sale orders name."""
        if not partners:
            return partners
        family = partners.with_context(active_test=False).search([("id", "child_of", partners.ids)])
        used_ids = set()
        checks = [("account.move", "partner_id"), ("account.move.line", "partner_id")]
        if "sale.order" in self.env:
            checks += [("sale.order", "partner_id"), ("sale.order", "partner_invoice_id")]
        for model, field in checks:
            # sudo: whether anything uses them, whatever the caller's companies.
            for partner, _count in (
                self.env[model]
                .sudo()
                ._read_group([(field, "in", family.ids)], [field], ["__count"])
            ):
                used_ids.add(partner.commercial_partner_id.id)
                used_ids.add(partner.id)
        return partners.filtered(
            lambda p: p.id in used_ids or p.commercial_partner_id.id in used_ids
        )

    # ------------------------------------------------------------------
    # Exceptions
    # ------------------------------------------------------------------
    def _crm_open_duplicate_exceptions(self):
        labels = dict(DUPLICATE_KEYS)
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
            raise UserError(
                self.env._("Only FinSync accountants decide on CRM conflicts and duplicates.")
            )


def mapper_load(raw, event):
    """The JSON document of a stored event (a UserError naming the event otherwise)."""
    try:
        return json.loads(raw)
    except ValueError as err:
        raise UserError(
            event.env._("Event %(name)s: the payload is not JSON.", name=event.name)
        ) from err
