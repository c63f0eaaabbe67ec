from odoo import api, models

from .finsync_crm_binding_sync import QUIET


class FinsyncCrmBinding(models.Model):
    """Set-based creation of the contacts a pull brings (thousands per page)."""

    _inherit = "finsync.crm.binding"

    @api.model
    def _crm_create_contact_partners(self, vals_list):
        """Create child contacts as ``res.partner.create`` would, without a write per contact.

        ``create`` syncs each new contact from its parent one by one (commercial
        fields, the parent's address, its language): two or three writes per
        contact. Here the values are read once per parent and given to one
        ``create``, with Odoo's own switch for that (``_partners_skip_fields_sync``,
        as its batched ``_load_records_create`` uses): the same contacts, set-based.
        Company-dependent commercial fields are taken in the connector's company,
        like Odoo's batched load does.
        """
        if not vals_list:
            return self.env["res.partner"]
        # sudo: the sync creates partners for whoever pulls (connectors hold no partner rights).
        Partner = self.env["res.partner"].sudo()
        parents = Partner.browse({vals["parent_id"] for vals in vals_list})
        commercial = Partner._commercial_fields()
        address = Partner._address_fields()
        inherited = {}
        for parent in parents:
            values = parent.commercial_partner_id._update_fields_values(commercial)
            if any(parent[name] for name in address):
                values.update(parent._update_fields_values(address))
            values = self._crm_written_by_sync(Partner, values)
            values["lang"] = parent.lang or self.env.lang
            inherited[parent.id] = values
        Partner = Partner.with_context(**QUIET, _partners_skip_fields_sync=True)
        defaults = self._crm_partner_defaults(Partner)
        # One INSERT where the result is certain (finsync_crm_partner_bulk.py).
        return self.env["finsync.crm.partner.bulk"]._create_partners(
            Partner,
            self._crm_inherit_pricelists(
                [({**defaults, **inherited[vals["parent_id"]], **vals}, vals) for vals in vals_list]
            ),
        )

    @api.model
    def _crm_written_by_sync(self, Partner, values):
        """The synced ``values`` Odoo's sync would write on a new contact.

        The sync writes them after ``create``, and a write leaves out the values
        the new record holds already: an empty amount or flag stays NULL in the
        database (0.0 given to ``create`` would be stored as 0.0).
        """
        written = {}
        for name, value in values.items():
            field = Partner._fields[name]
            if field.store and field.convert_to_cache(value, Partner) == field.convert_to_cache(
                None, Partner
            ):
                continue
            written[name] = value
        return written

    @api.model
    def _crm_partner_defaults(self, Partner):
        """The defaults of the partners' non-stored fields, computed once for a batch.

        ``create`` computes every missing default per partner; the non-stored
        ones are UI flags (account's *display invoice template* counts the
        invoice reports for each partner) that are the same for all.
        """
        names = [name for name, field in Partner._fields.items() if not field.store]
        return Partner.default_get(names)

    @api.model
    def _crm_inherit_pricelists(self, pairs):
        """``[(contact values, its own values)]``: the parent's pricelist as its inverse
        stores it, the country's default pricelist searched once per country.

        ``property_product_pricelist`` is computed, and its inverse searches the
        default pricelist of the partner's country for every partner given. A
        contact keeps the parent's pricelist as its own (``specific_...``) unless
        it is that default, the country being the contact's own one: ``create``
        syncs commercial fields before the parent's address.
        """
        defaults, result = {}, []
        for values, own in pairs:
            pricelist_id = values.pop("property_product_pricelist", False)
            result.append(values)
            if not pricelist_id:
                continue
            country_id = own.get("country_id") or False
            if country_id not in defaults:
                code = self.env["res.country"].browse(country_id).code if country_id else False
                # sudo: as the inverse, the sync reads pricelists whatever the caller's rights.
                defaults[country_id] = (
                    self.env["product.pricelist"]
                    .sudo()
                    .search([("country_group_ids.country_ids.code", "=", code)], limit=1)
                    .id
                )
            values["specific_property_product_pricelist"] = (
                pricelist_id if pricelist_id != defaults[country_id] else False
            )
        return result
