from . import models


def _finsync_crm_sale_post_init(env):
    """Sales installed: the Salesforce connectors make sale orders from now on.

    Deals already billed keep their invoice (a deal's document is its order, else its invoice).
    """
    env["finsync.backend"].search([("backend_type", "=", "salesforce")]).write(
        {"crm_billing_document": "sale_order"}
    )
