{
    "name": "FinSync Matching",
    "summary": "Matching engine pairing bank lines with open items, with explanations",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "FinSync",
    "website": "https://github.com/finsync/finsync",
    "depends": ["finsync_bank"],
    "data": [
        "security/ir.model.access.csv",
        "security/finsync_matching_rules.xml",
        "data/finsync_match_rule_data.xml",
        "views/finsync_match_rule_views.xml",
        "views/finsync_unreconcile_views.xml",
        "views/finsync_match_backtest_views.xml",
    ],
    "installable": True,
}
