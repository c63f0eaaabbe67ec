{
    "name": "FinSync Matching",
    "summary": "Matching engine pairing bank lines with open items, with explanations",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "FinSync",
    "website": "https://github.com/finsync/finsync",
    "depends": ["finsync_bank"],
    "data": [],
    "installable": True,
}
