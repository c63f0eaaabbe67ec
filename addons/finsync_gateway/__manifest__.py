{
    "name": "FinSync Payment Gateways",
    "summary": "What payment gateway connectors share: a clearing journal per currency, "
    "payouts as settlements paired with the bank line and reconciled through money in "
    "transit, their aging and overdue exceptions",
    "version": "18.0.1.1.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "FinSync",
    "website": "https://github.com/finsync/finsync",
    "depends": ["finsync_base", "finsync_bank", "queue_job"],
    "data": [
        "security/ir.model.access.csv",
        "security/finsync_gateway_rules.xml",
        "data/ir_cron_data.xml",
        "views/finsync_settlement_views.xml",
        "views/finsync_backend_views.xml",
        "views/finsync_gateway_menus.xml",
    ],
    "installable": True,
}
