import { registry } from "@web/core/registry";
import { openFinsyncMenu } from "@finsync_base/tours/finsync_tour_steps";

/**
 * An accountant pulls the Salesforce connector: the won deal "Tour deal"
 * becomes a draft invoice, which she opens from the CRM deal and posts.
 * (The bank line that pays the invoice and the write-back are checked by the
 * Python test after the tour.)
 */
registry.category("web_tour.tours").add("finsync_crm_deal_tour", {
    url: "/odoo",
    steps: () => [
        ...openFinsyncMenu(),
        {
            content: "Open the connectors",
            trigger: ".dropdown-item:contains('Connectors')",
            run: "click",
        },
        {
            content: "Open the Salesforce connector",
            trigger: ".o_data_row td:contains('Salesforce tour')",
            run: "click",
        },
        {
            content: "Pull the Salesforce connector now",
            trigger: ".o_form_view button[name='action_pull_now']",
            run: "click",
        },
        {
            content: "The pull says what it brought",
            trigger: ".o_notification:contains('Pull Now')",
        },
        {
            content: "Open the connector's CRM deals",
            trigger: ".o_form_view button[name='action_view_crm_deals']",
            run: "click",
        },
        {
            content: "The won deal is billed",
            trigger: ".o_data_row:contains('Tour deal'):contains('Billed')",
        },
        {
            content: "Open the deal",
            trigger: ".o_data_row td[name='name']:contains('Tour deal')",
            run: "click",
        },
        {
            content: "Open its invoice",
            trigger: ".o_form_view button[name='action_open_document']",
            run: "click",
        },
        {
            content: "The draft invoice has the deal's line",
            trigger: ".o_form_view .o_field_widget[name='invoice_line_ids'] td:contains('TOUR-SEAT')",
        },
        {
            content: "Post the invoice",
            trigger: ".o_form_view button[name='action_post']",
            run: "click",
        },
        {
            content: "The invoice is posted",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Posted')",
        },
    ],
});
