from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from ..models import finsync_crm_binding_sync
from .common import CrmCommon

# Differ between any two bindings, whoever creates them.
OWN_FIELDS = {"id", "sf_id", "create_date", "write_date", "create_uid", "write_uid"}


@tagged("post_install", "-at_install")
class TestIngestPage(CrmCommon):
    """What a page of a first load costs: one INSERT of bindings, no comparison."""

    def setUp(self):
        super().setUp()
        self.partner = self.env["res.partner"].create({"name": "Acme", "is_company": True})

    def binding_vals(self, sf_id, **values):
        return {
            "backend_id": self.salesforce.id,
            "sf_object": "Account",
            "sf_id": sf_id,
            "system_modstamp": "2026-01-15T10:00:00.000Z",
            "crm_values": {"name": "Acme", "phone": "+32 2 555 00 01"},
            "last_sync_date": fields.Datetime.now(),
            **values,
        }

    def stored_values(self, bindings):
        names = [
            name
            for name, field in bindings._fields.items()
            if field.store and name not in OWN_FIELDS
        ]
        bindings.invalidate_recordset()
        rows = bindings.read(names, load=None)
        for row in rows:
            row.pop("id")
        return rows

    def page(self, prefix):
        partner = self.partner
        return [
            self.binding_vals(
                f"{prefix}1", partner_id=partner.id, odoo_values={"name": "Acme", "vat": None}
            ),
            self.binding_vals(
                f"{prefix}2",
                state="duplicate",
                duplicate_partner_id=partner.id,
                duplicate_key="name_country",
            ),
            self.binding_vals(
                f"{prefix}3", sf_object="Contact", state="waiting", sf_account_id="001ACCOUNT"
            ),
        ]

    def test_inserted_bindings_equal_the_orm_ones(self):
        Binding = self.env["finsync.crm.binding"]
        with patch.object(type(Binding), "create", autospec=True) as create:
            inserted = Binding._crm_insert_bindings(self.salesforce, self.page("001BULK"))
        create.assert_not_called()
        orm = Binding.sudo().create(self.page("001ORM0"))
        self.assertEqual(self.stored_values(inserted), self.stored_values(orm))
        self.assertEqual(inserted.mapped("sf_id"), ["001BULK1", "001BULK2", "001BULK3"])
        self.assertEqual(inserted[0].odoo_values, {"name": "Acme", "vat": None})
        self.assertEqual(inserted.company_id, self.salesforce.company_id)

    def test_an_addon_overriding_create_gets_the_orms_create(self):
        Binding = self.env["finsync.crm.binding"]
        foreign = {"some_addon": ["finsync.crm.binding.create"]}
        with patch.object(finsync_crm_binding_sync, "foreign_overrides", return_value=foreign):
            with patch.object(
                type(Binding), "create", autospec=True, side_effect=lambda self, vals: self.browse()
            ) as create:
                Binding._crm_insert_bindings(self.salesforce, self.page("001OVER"))
        create.assert_called_once()

    def test_a_first_load_compares_nothing_and_opens_no_exception(self):
        for index in range(3):
            account = self.account(f"Distinct Company {index}")
            self.sim.add_contact(account["Id"], "Ann", f"Smith{index}", Title="CFO")
        Exception_ = type(self.env["finsync.exception"])
        Binding = type(self.env["finsync.crm.binding"])
        with (
            patch.object(Exception_, "_open_for_records", autospec=True) as opened,
            patch.object(Binding, "_crm_reconcile", autospec=True) as reconciled,
        ):
            self.pull()
        opened.assert_not_called()
        reconciled.assert_not_called()
        self.assertEqual(len(self.bindings()), 3)
        self.assertEqual(len(self.bindings("Contact")), 3)
        self.assertEqual(set(self.bindings().mapped("state")), {"bound"})
