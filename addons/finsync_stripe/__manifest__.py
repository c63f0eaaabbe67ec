{
    "name": "FinSync Stripe",
    "summary": "Stripe balance transactions and signed webhooks into canonical transactions, "
    "a clearing journal per currency, and payouts as settlements matched to the bank",
    "version": "18.0.1.2.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "FinSync",
    "website": "https://github.com/finsync/finsync",
    "depends": ["finsync_gateway"],
    "external_dependencies": {"python": ["requests"]},
    "data": [
        "security/finsync_stripe_security.xml",
        "data/finsync_stripe_data.xml",
        "views/finsync_backend_views.xml",
        "views/finsync_transaction_views.xml",
    ],
    "demo": ["demo/finsync_stripe_demo.xml"],
    "assets": {
        "web.assets_tests": [
            "finsync_stripe/static/src/tours/*.js",
        ],
    },
    "installable": True,
}
