import { registry } from "@web/core/registry";
import { openFinsyncMenu } from "@finsync_base/tours/finsync_tour_steps";

/**
 * An accountant opens FinSync's exception queue from the Accounting menu,
 * narrows it to open exceptions, assigns one to herself and resolves it with
 * a reason code.
 */
registry.category("web_tour.tours").add("finsync_exception_tour", {
    url: "/odoo",
    steps: () => [
        ...openFinsyncMenu(),
        {
            content: "Open the exception queue",
            trigger: ".dropdown-item:contains('Exceptions')",
            run: "click",
        },
        {
            content: "Open exceptions are shown by default",
            trigger: ".o_searchview_facet:contains('Open')",
        },
        {
            content: "Search the exception to work on",
            trigger: ".o_searchview_input",
            run: "edit Tour: unmatched payment 4711",
        },
        {
            content: "Confirm the search",
            trigger: ".o_searchview_input",
            run: "press Enter",
        },
        {
            content: "Open the exception",
            trigger: ".o_kanban_record:contains('Tour: unmatched payment 4711')",
            run: "click",
        },
        {
            content: "Assign it to myself",
            trigger: ".o_form_view button[name='action_assign_to_me']",
            run: "click",
        },
        {
            content: "The exception is now in progress",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('In Progress')",
        },
        {
            content: "Resolve it",
            trigger: ".o_form_view button[name='action_open_resolve_wizard']:contains('Resolve')",
            run: "click",
        },
        {
            content: "Choose a reason code",
            trigger: ".modal .o_field_widget[name='reason_id'] input",
            run: "edit MATCHED",
        },
        {
            content: "Pick 'Matched by hand'",
            trigger: ".o-autocomplete--dropdown-item:contains('Matched by hand')",
            run: "click",
        },
        {
            content: "Explain",
            trigger: ".modal .o_field_widget[name='note'] textarea",
            run: "edit Paid INV/2026/0042 by bank transfer",
        },
        {
            content: "Confirm",
            trigger: ".modal button[name='action_confirm']",
            run: "click",
        },
        {
            content: "The exception is resolved",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Resolved')",
        },
        {
            content: "Back to the FinSync menu",
            trigger: ".o_menu_sections button:contains('FinSync')",
            run: "click",
        },
        {
            content: "Open the transactions",
            trigger: ".dropdown-item:contains('Transactions')",
            run: "click",
        },
        {
            content: "Transactions show their kind and state in words",
            trigger: ".o_list_view td[name='kind']:contains('Bank credit')",
        },
        {
            content: "... with a state badge",
            trigger: ".o_list_view td[name='state'] .badge:contains('Settled')",
        },
    ],
});
