"""The sync of ``finsync.crm.binding``: pulled record versions -> partners, set-based."""

import json
import logging

from psycopg2.extras import Json

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.finsync_base.models.bulk_sql import (
    CONCURRENCY_ERRORS,
    foreign_overrides,
    insert_rows,
    next_ids,
)
from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters import salesforce_mapper as mapper

_logger = logging.getLogger(__name__)

# The stored fields of a binding, as ``_crm_insert_bindings`` writes them (an addon that
# adds one, or overrides ``create``, sends the page's bindings through the ORM instead).
BINDING_COLUMNS = frozenset(
    {
        "id",
        "backend_id",
        "company_id",
        "sf_object",
        "sf_id",
        "sf_account_id",
        "partner_id",
        "state",
        "system_modstamp",
        "last_sync_date",
        "crm_values",
        "odoo_values",
        "conflict_values",
        "duplicate_partner_id",
        "duplicate_key",
        "create_uid",
        "create_date",
        "write_uid",
        "write_date",
    }
)
JSON_COLUMNS = ("crm_values", "odoo_values", "conflict_values")

# What partners created by the sync skip: chatter messages, followers, tracking.
QUIET = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
}


class FinsyncCrmBinding(models.Model):
    _inherit = "finsync.crm.binding"

    # ------------------------------------------------------------------
    # Events -> records
    # ------------------------------------------------------------------
    @api.model
    def _crm_process_events(self, backend, events, documents=None):
        """Apply a page of new events at once; when the page fails as a whole its
        events are processed one by one, each failure recorded on its event.

        ``documents`` (``{idempotency key: record}``) spares reading back the
        payloads just stored.
        """
        try:
            with self.env.cr.savepoint():
                self._crm_apply_events(backend, events, documents)
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
    def _crm_apply_events(self, backend, events, documents=None):
        """Apply stored record versions and deletions (one page at a time, set-based)."""
        records = {"Account": [], "Contact": [], "deleted": []}
        documents = documents or {}
        missing = events.filtered(lambda e: e.dedup_key not in documents)
        if missing:
            # sudo: the payloads are accountant-only; processing runs as the pulling user.
            raws = missing.sudo().with_context(bin_size=False).mapped("payload")
            documents = dict(documents)
            for event, raw in zip(missing, raws, strict=True):
                documents[event.dedup_key] = _load(
                    self.env["finsync.event"]._decode_binary(raw), event
                )
        for event in events:
            records.setdefault(event.event_type, []).append(documents[event.dedup_key])
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
    def _crm_newer(self, latest, bindings, map_record):
        """``{sf_id: (canonical values, stamp)}`` of the versions newer than the bound ones."""
        values = {}
        for sf_id, (record, stamp) in latest.items():
            binding = bindings.get(sf_id)
            if binding and binding.system_modstamp and binding.system_modstamp >= stamp:
                continue  # an older version read after a newer one
            values[sf_id] = (map_record(record), stamp)
        return values

    # ------------------------------------------------------------------
    # Accounts and contacts
    # ------------------------------------------------------------------
    @api.model
    def _crm_sync_accounts(self, backend, records):
        latest = self._crm_latest(records)
        bindings = self._crm_bindings(backend, list(latest))
        countries = self._crm_countries()

        def map_account(record):
            crm = mapper.map_account(record, backend.crm_vat_field, backend.crm_iban_field)
            crm["country"] = self._crm_country_code(crm["country"], countries)
            return crm

        values = self._crm_newer(latest, bindings, map_account)
        fresh = {sf_id: crm for sf_id, (crm, _stamp) in values.items() if sf_id not in bindings}
        duplicates = self._crm_find_duplicates(backend, fresh)
        new = [sf_id for sf_id in fresh if sf_id not in duplicates]
        partners = self._crm_create_partners(backend, [fresh[sf_id] for sf_id in new], countries)
        odoo = self._crm_canonical(partners)
        now = fields.Datetime.now()
        created = self._crm_insert_bindings(
            backend,
            [
                self._crm_binding_vals(backend, "Account", sf_id, values[sf_id], now)
                | {"partner_id": partner.id, "odoo_values": odoo[partner.id]}
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
            ],
        )
        if duplicates:
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
        values = self._crm_newer(latest, bindings, mapper.map_contact)
        accounts = self._crm_bindings(
            backend, list({crm["account"] for crm, _stamp in values.values() if crm["account"]})
        )
        fresh = [sf_id for sf_id in values if sf_id not in bindings]
        parents = {
            sf_id: accounts[values[sf_id][0]["account"]].partner_id
            for sf_id in fresh
            if values[sf_id][0]["account"] in accounts
            and accounts[values[sf_id][0]["account"]].partner_id
        }
        ready = [sf_id for sf_id in fresh if sf_id in parents]
        partners = self._crm_create_contacts(
            [(values[sf_id][0], parents[sf_id]) for sf_id in ready]
        )
        odoo = self._crm_canonical(partners)
        now = fields.Datetime.now()
        created = self._crm_insert_bindings(
            backend,
            [
                self._crm_binding_vals(backend, "Contact", sf_id, values[sf_id], now)
                | {
                    "sf_account_id": values[sf_id][0]["account"],
                    "partner_id": partner.id,
                    "odoo_values": odoo[partner.id],
                }
                for sf_id, partner in zip(ready, partners, strict=True)
            ]
            + [
                self._crm_binding_vals(backend, "Contact", sf_id, values[sf_id], now)
                | {"state": "waiting", "sf_account_id": values[sf_id][0]["account"]}
                for sf_id in fresh
                if sf_id not in parents
            ],
        )
        existing = {sf_id: bindings[sf_id] for sf_id in values if sf_id in bindings}
        self._crm_update(backend, existing, values, ("contacts",), {})
        return created

    def _crm_attach_contacts(self, accounts):
        """Create the child contacts of waiting contact bindings whose account has a
        partner now (``accounts``: ``{Salesforce account id: account binding}``)."""
        ready = self.filtered(
            lambda b: b.state == "waiting"
            and b.sf_account_id in accounts
            and accounts[b.sf_account_id].partner_id
        )
        partners = self._crm_create_contacts(
            [(b.crm_values or {}, accounts[b.sf_account_id].partner_id) for b in ready]
        )
        odoo = self._crm_canonical(partners)
        for binding, partner in zip(ready, partners, strict=True):
            binding.write(
                {"partner_id": partner.id, "state": "bound", "odoo_values": odoo[partner.id]}
            )
        return ready

    @api.model
    def _crm_insert_bindings(self, backend, vals_list):
        """Create a page's bindings with one INSERT; the ORM's ``create`` otherwise.

        A binding has no computed field but its company (the connector's), no
        constraint but the unique (connector, Salesforce Id) that PostgreSQL
        checks, and nothing else to run on creation: the rows the ORM would
        write, without its per-record work (thousands of bindings per page).
        Another addon that adds a stored field or overrides ``create`` gets the
        ORM's ``create``.
        """
        # sudo: bindings are read-only to people (no create right); the pull writes them.
        Binding = self.sudo()
        if not vals_list:
            return Binding.browse()
        stored = {name for name, field in self._fields.items() if field.store}
        if stored != BINDING_COLUMNS or foreign_overrides(
            self.env, {self._name: ("create", "_create")}, {"base", "finsync_crm"}
        ):
            return Binding.create(vals_list)
        self.env.flush_all()
        ids = next_ids(self.env, self._table, len(vals_list))
        now = fields.Datetime.now()
        defaults = {
            "state": "bound",
            "sf_account_id": None,
            "partner_id": None,
            "conflict_values": None,
            "duplicate_partner_id": None,
            "duplicate_key": None,
        }
        rows = []
        for binding_id, vals in zip(ids, vals_list, strict=True):
            row = {"id": binding_id, **defaults, **vals}
            row.update(
                backend_id=backend.id,
                company_id=backend.company_id.id,
                create_uid=self.env.uid,
                create_date=now,
                write_uid=self.env.uid,
                write_date=now,
            )
            for name in JSON_COLUMNS:
                row[name] = Json(row[name]) if row.get(name) not in (None, False) else None
            rows.append({name: row.get(name) or None for name in sorted(BINDING_COLUMNS)})
        insert_rows(
            self.env,
            self.env._("%(count)s Salesforce bindings", count=len(rows)),
            self._table,
            rows,
            keep=CONCURRENCY_ERRORS,
        )
        return Binding.browse(ids)

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
        for country in self.env["res.country"].with_context(lang="en_US").search([]):
            countries[country.code.lower()] = country
            countries[country.name.lower()] = country
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
        if not crm_list:
            return self.env["res.partner"]
        # sudo: the sync creates partners for whoever pulls (connectors hold no partner rights).
        Partner = self.env["res.partner"].sudo().with_context(**QUIET)
        defaults = self._crm_partner_defaults(Partner)  # finsync_crm_binding_bulk.py
        # One INSERT where the result is certain (finsync_crm_partner_bulk.py).
        return self.env["finsync.crm.partner.bulk"]._create_partners(
            Partner,
            [defaults | self._crm_partner_vals(backend, crm, countries) for crm in crm_list],
        )

    @api.model
    def _crm_create_contacts(self, crm_parents):
        """Child contacts from ``[(canonical contact values, parent partner)]``."""
        if not crm_parents:
            return self.env["res.partner"]
        # Set-based: finsync_crm_binding_bulk.py.
        return self._crm_create_contact_partners(
            [
                {
                    "type": "contact",
                    "parent_id": parent.id,
                    "name": crm.get("name") or self.env._("(no name)"),
                    "email": crm.get("email"),
                    "phone": crm.get("phone"),
                    "function": crm.get("function"),
                }
                for crm, parent in crm_parents
            ]
        )

    @api.model
    def _crm_canonical(self, partners):
        """``{partner id: canonical values}`` as Odoo has them now."""
        result = {}
        for partner in partners.sudo():  # sudo: comparing, whatever the caller's rights
            result[partner.id] = {
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
        odoo = self._crm_canonical(self.partner_id)
        for binding in self:
            binding.odoo_values = odoo.get(binding.partner_id.id) or {}

    # ------------------------------------------------------------------
    # New versions of bound records
    # ------------------------------------------------------------------
    @api.model
    def _crm_update(self, backend, bindings, values, sets, countries):
        """Apply new CRM versions to bound partners, by ownership; open conflicts."""
        if not bindings:
            return self.browse()  # a first load: nothing bound yet, nothing to compare
        ownership = backend._crm_ownership()
        now = fields.Datetime.now()
        conflicted = self.browse()
        odoo_before = self._crm_canonical(self.browse([b.id for b in bindings.values()]).partner_id)
        for sf_id, binding in bindings.items():
            crm, stamp = values[sf_id]
            if binding.state in ("duplicate", "waiting"):
                binding.write({"crm_values": crm, "system_modstamp": stamp, "last_sync_date": now})
                continue
            odoo_now = odoo_before.get(binding.partner_id.id, {})
            writes, conflicts, crm_seen = binding._crm_reconcile(crm, odoo_now, ownership, sets)
            partner = binding.partner_id.sudo().with_context(**QUIET)  # sudo: the sync's write
            if writes and partner:
                partner.write(self._crm_write_vals(writes, countries))
                odoo_now = self._crm_canonical(partner)[partner.id]
            if ownership.get("bank") == "crm" and "iban" in crm:
                binding._crm_add_bank_account(crm["iban"])
            odoo_seen = dict(odoo_now)
            for key in conflicts:  # still what both agreed on before
                odoo_seen[key] = (binding.odoo_values or {}).get(key)
            already_open = conflicts and conflicts == (binding.conflict_values or {})
            binding.write(
                {
                    "crm_values": crm_seen,
                    "odoo_values": odoo_seen,
                    "system_modstamp": stamp,
                    "last_sync_date": now,
                    "state": "conflict" if conflicts else "bound",
                    "conflict_values": conflicts or False,
                }
            )
            if conflicts and not already_open:
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

    @api.model
    def _crm_write_vals(self, writes, countries):
        vals = dict(writes)
        if "country" in vals:
            country = (countries or self._crm_countries()).get((vals.pop("country") or "").lower())
            vals["country_id"] = country.id if country else False
        return vals


def _load(raw, event):
    """The JSON document of a stored event (a UserError naming the event otherwise)."""
    try:
        return json.loads(raw)
    except ValueError as err:
        raise UserError(
            event.env._("Event %(name)s: the payload is not JSON.", name=event.name)
        ) from err
