{
    "name": "FinSync Bank",
    "summary": "Bank statement files (OFX, CAMT, MT940, BAI2, CSV) and bank APIs into "
    "canonical transactions and Odoo bank statements",
    "version": "18.0.1.1.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "FinSync",
    "website": "https://github.com/finsync/finsync",
    "depends": ["finsync_base", "account"],
    "external_dependencies": {"python": ["lxml", "openpyxl", "requests"]},
    "data": [
        "security/ir.model.access.csv",
        "security/finsync_bank_rules.xml",
        "data/finsync_bank_data.xml",
        "views/finsync_backend_views.xml",
        "wizards/finsync_bank_import_views.xml",
        "views/finsync_bank_profile_views.xml",
        "views/finsync_bank_menus.xml",
        "views/res_config_settings_views.xml",
    ],
    "demo": ["demo/finsync_bank_demo.xml"],
    "assets": {
        "web.assets_tests": [
            "finsync_bank/static/src/tours/*.js",
        ],
    },
    "installable": True,
}
