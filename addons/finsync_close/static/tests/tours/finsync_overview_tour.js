/** @odoo-module **/
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("finsync_close_overview_tour", {
    url: "/odoo/action-finsync_close.action_finsync_overview",
    steps: () => [
        {
            content: "The overview shows the tour's journal with its unreconciled lines",
            trigger: ".o_finsync_card:contains('Tour Bank') .o_finsync_unreconciled_count:contains('2')",
            run: "click",
        },
        {
            content: "The number opens the lines behind it",
            trigger: ".o_list_view .o_data_row:contains('Tour line B')",
        },
        {
            content: "Both lines, and only them",
            trigger: ".o_list_view:not(:has(.o_data_row:nth-child(3))) .o_data_row:nth-child(2)",
        },
    ],
});
