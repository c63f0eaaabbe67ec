import { registry } from "@web/core/registry";
import { openFinsyncMenu } from "@finsync_base/tours/finsync_tour_steps";

/**
 * A month closed end to end: the accountant opens the period from the Close
 * menu, refreshes its checklist, signs off the manual item she owns and closes
 * the period (its lock dates are set).
 */
registry.category("web_tour.tours").add("finsync_close_tour", {
    url: "/odoo",
    steps: () => [
        ...openFinsyncMenu(),
        {
            content: "Open the periods to close",
            trigger: ".dropdown-item:contains('Periods')",
            run: "click",
        },
        {
            content: "Open the month",
            trigger: ".o_data_row td:contains('Tour Close Co')",
            run: "click",
        },
        {
            content: "Refresh the checklist",
            trigger: ".o_form_view button[name='action_refresh']",
            run: "click",
        },
        {
            content: "The manual item waits for its sign-off",
            trigger: ".o_field_one2many .o_data_row:contains('Accruals booked') button[name='action_sign']",
            run: "click",
        },
        {
            content: "Every item signed: the period is ready",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Ready')",
        },
        {
            content: "Close the period",
            trigger: ".o_form_view button[name='action_close']",
            run: "click",
        },
        {
            content: "The period is closed",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Closed')",
        },
    ],
});
