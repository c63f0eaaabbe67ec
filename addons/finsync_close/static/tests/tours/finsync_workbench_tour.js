/** @odoo-module **/
import { registry } from "@web/core/registry";

/**
 * The overview -> a red journal -> its lines in the workbench -> a proposal
 * confirmed with the keyboard; the next line becomes the current one.
 */
registry.category("web_tour.tours").add("finsync_workbench_tour", {
    url: "/odoo/action-finsync_close.action_finsync_overview",
    steps: () => [
        {
            content: "The tour's journal is red on the overview: open its lines to reconcile",
            trigger:
                ".o_finsync_card:contains('Tour Workbench Bank'):has(.o_finsync_red) .o_finsync_unreconciled_count:contains('2')",
            run: "click",
        },
        {
            content: "The workbench lists the journal's lines; the first is current",
            trigger:
                ".o_finsync_workbench_list .o_data_row.o_finsync_current:contains('Tour Payer')",
        },
        {
            content: "Only the two lines of the journal",
            trigger:
                ".o_finsync_workbench_list:not(:has(.o_data_row:nth-child(3))) .o_data_row:nth-child(2):contains('rent december')",
        },
        {
            content: "The side panel shows FinSync's proposal with its reason and score",
            trigger:
                ".o_finsync_workbench_panel:has(.badge:contains('score')) .o_finsync_panel_proposal:contains('INV/')",
        },
        {
            content: "Confirm the proposal with the C key",
            trigger: ".o_finsync_workbench_panel .o_finsync_confirm:enabled",
            run: "press c",
        },
        {
            content: "Confirmed, with the count in words",
            trigger: ".o_notification:contains('1 proposal confirmed and reconciled.')",
        },
        {
            content: "The line left the workbench; the next one is current",
            trigger:
                ".o_finsync_workbench_list:not(:has(.o_data_row:contains('Tour Payer'))) .o_data_row.o_finsync_current:contains('rent december')",
        },
        {
            content: "It has no proposal: the panel says to match it by hand",
            trigger: ".o_finsync_workbench_panel:contains('None: match it by hand.')",
        },
    ],
});
