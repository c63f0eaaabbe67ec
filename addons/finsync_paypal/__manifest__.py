{
    "name": "FinSync PayPal",
    "summary": "PayPal transaction search, verified webhooks and report files into canonical "
    "transactions, a clearing journal per currency, and payouts matched to the bank",
    "version": "18.0.1.2.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "FinSync",
    "website": "https://github.com/finsync/finsync",
    "depends": ["finsync_gateway"],
    "external_dependencies": {"python": ["requests"]},
    "data": [
        "security/finsync_paypal_security.xml",
        "security/ir.model.access.csv",
        "data/finsync_paypal_data.xml",
        "views/finsync_backend_views.xml",
        "wizards/finsync_paypal_import_views.xml",
        "views/finsync_paypal_menus.xml",
    ],
    "demo": ["demo/finsync_paypal_demo.xml"],
    "installable": True,
}
