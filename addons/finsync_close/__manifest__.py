{
    "name": "FinSync Overview and Close",
    "summary": "How things stand (unreconciled lines, freshness, sync latency, settlement "
    "aging, exceptions), metrics and alerts, and the month-end close with its checklist",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "FinSync",
    "website": "https://github.com/finsync/finsync",
    "depends": ["finsync_base", "finsync_bank", "finsync_matching", "finsync_gateway"],
    "data": [
        "security/ir.model.access.csv",
        "views/finsync_close_menus.xml",
        "security/finsync_close_rules.xml",
        "security/finsync_alert_security.xml",
        "data/finsync_alert_cron.xml",
        "views/finsync_close_views.xml",
        "views/finsync_overview_views.xml",
        "views/res_config_settings_metrics_views.xml",
        "views/finsync_alert_views.xml",
        "report/finsync_close_report.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "finsync_close/static/src/overview/*",
        ],
        "web.assets_tests": [
            "finsync_close/static/src/tours/finsync_close_tour.js",
            "finsync_close/static/tests/tours/*",
        ],
    },
    "installable": True,
}
