import { registry } from "@web/core/registry";
import { openFinsyncMenu } from "@finsync_base/tours/finsync_tour_steps";

/**
 * A manager finds an amount mismatch in the exception queue and writes the
 * difference off; it is over the company's threshold, so it becomes a request.
 */
registry.category("web_tour.tours").add("finsync_writeoff_request_tour", {
    url: "/odoo",
    steps: () => [
        ...openFinsyncMenu(),
        {
            content: "Open the exception queue",
            trigger: ".dropdown-item:contains('Exceptions')",
            run: "click",
        },
        {
            content: "Search the short payment",
            trigger: ".o_searchview_input",
            run: "edit TOUR-WO-7",
        },
        {
            content: "Confirm the search",
            trigger: ".o_searchview_input",
            run: "press Enter",
        },
        {
            content: "Open the amount mismatch",
            trigger: ".o_kanban_record:contains('TOUR-WO-7')",
            run: "click",
        },
        {
            content: "Write the difference off",
            trigger: ".o_form_view button[name='action_open_writeoff_wizard']",
            run: "click",
        },
        {
            content: "The invoice is ticked and 30.00 is left over",
            trigger: ".modal .o_field_widget[name='difference']:contains('30.00')",
        },
        {
            content: "Choose the write-off account",
            trigger: ".modal .o_field_widget[name='writeoff_account_id'] input",
            run: "edit 999901",
        },
        {
            content: "Pick it",
            trigger: ".o-autocomplete--dropdown-item:contains('Tour Write-offs')",
            run: "click",
        },
        {
            content: "Say why",
            trigger: ".modal .o_field_widget[name='writeoff_reason'] textarea",
            run: "edit Agreed discount for late delivery",
        },
        {
            content: "FinSync warns that the amount needs approval",
            trigger: ".modal .alert-warning:contains('threshold')",
        },
        {
            content: "Request approval",
            trigger: ".modal .modal-footer button:contains('Request Approval')",
            run: "click",
        },
        {
            content: "The exception waits for the approval",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Waiting')",
        },
    ],
});

/**
 * Another manager opens the write-offs waiting for approval and approves it.
 */
registry.category("web_tour.tours").add("finsync_writeoff_approve_tour", {
    url: "/odoo",
    steps: () => [
        ...openFinsyncMenu(),
        {
            content: "Open the write-off requests",
            trigger: ".dropdown-item:contains('Write-off Requests')",
            run: "click",
        },
        {
            content: "Open the request of the colleague",
            trigger: ".o_list_view .o_data_row:contains('Tour Requester') .o_data_cell",
            run: "click",
        },
        {
            content: "The reason is shown",
            trigger: ".o_form_view .o_field_widget[name='reason']:contains('Agreed discount')",
        },
        {
            content: "Approve",
            trigger: ".o_form_view button[name='action_approve']",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The request is approved",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Approved')",
        },
    ],
});
