{
    "name": "FinSync CRM (Salesforce) - Sales",
    "summary": "Won Salesforce deals become confirmed sale orders; their invoices' states "
    "are written back to the opportunity",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "FinSync",
    "website": "https://github.com/finsync/finsync",
    "depends": ["finsync_crm", "sale"],
    "data": ["views/finsync_crm_sale_views.xml"],
    "post_init_hook": "_finsync_crm_sale_post_init",
    "auto_install": True,
    "installable": True,
}
