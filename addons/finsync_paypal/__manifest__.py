{
    "name": "FinSync PayPal",
    "summary": "PayPal transaction search, verified webhooks and report files into canonical "
    "transactions, a clearing journal per currency, and payouts matched to the bank",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "FinSync",
    "website": "https://github.com/finsync/finsync",
    "depends": ["finsync_base", "finsync_bank", "finsync_matching", "queue_job"],
    "external_dependencies": {"python": ["requests"]},
    "data": [],
    "installable": True,
}
