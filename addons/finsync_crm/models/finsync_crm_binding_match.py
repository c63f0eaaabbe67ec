"""Duplicates and deletions of ``finsync.crm.binding``."""

import logging

from odoo import api, models
from odoo.tools import SQL

from ..adapters import salesforce_mapper as mapper

_logger = logging.getLogger(__name__)


class FinsyncCrmBinding(models.Model):
    _inherit = "finsync.crm.binding"

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
        # Normalised names are [a-z0-9]: a prefix of 6 is matched as equal first 6
        # characters, a hash join on the page's prefixes (not a LIKE per pair); the
        # few shorter names (legal forms left out) by LIKE.
        prefixes = sorted({name[:6] for name in names if len(name) >= 6})
        short = sorted(f"{name}%" for name in names if len(name) < 6)
        normalised = SQL("regexp_replace(lower(p.name), '[^a-z0-9]', '', 'g')")
        candidates = self._crm_partners_by_sql(
            SQL("p.name"),
            SQL(
                "(left(%s, 6) IN (SELECT unnest(%s::text[])) OR %s LIKE ANY(%s::text[]))",
                normalised,
                prefixes,
                normalised,
                short,
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
        # sudo: bindings are read-only to people; the pull (a technical user or an
        # accountant's Pull Now) unbinds what Salesforce deleted.
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
