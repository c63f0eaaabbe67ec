{
    "name": "FinSync CRM (Salesforce)",
    "summary": "Salesforce Accounts and Contacts as Odoo partners, won deals as invoices, "
    "invoice states written back: incremental pulls, field ownership, conflicts and duplicates",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "FinSync",
    "website": "https://github.com/finsync/finsync",
    "depends": ["finsync_base", "account"],
    "external_dependencies": {"python": ["requests", "cryptography"]},
    "data": [
        "security/finsync_crm_security.xml",
        "security/finsync_crm_deal_security.xml",
        "security/ir.model.access.csv",
        "data/finsync_crm_data.xml",
        "data/finsync_crm_sla_data.xml",
        "data/finsync_crm_deal_data.xml",
        "data/finsync_crm_deal_sla_data.xml",
        "views/finsync_backend_views.xml",
        "views/finsync_crm_binding_views.xml",
        "views/finsync_exception_views.xml",
        "wizards/finsync_crm_wizard_views.xml",
        "views/finsync_crm_menus.xml",
        "views/finsync_crm_deal_views.xml",
    ],
    "demo": ["demo/finsync_crm_demo.xml"],
    "assets": {
        "web.assets_tests": [
            "finsync_crm/static/src/tours/*.js",
        ],
    },
    "installable": True,
}
