import { registry } from "@web/core/registry";

/**
 * An accountant opens a Stripe payout from FinSync's Payouts menu: she sees the
 * charges and fees it paid out, its totals, and the bank line that received it.
 */
registry.category("web_tour.tours").add("finsync_stripe_payout_tour", {
    steps: () => [
        {
            content: "Open the payout in the list",
            trigger: ".o_list_view .o_data_row:contains('po_sim') td[name='name']",
            run: "click",
        },
        {
            content: "The payout is reconciled with the bank",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Reconciled')",
        },
        {
            content: "Its charges are listed with their fees",
            trigger: ".o_field_widget[name='transaction_ids'] .o_data_row:contains('charge'):contains('TOUR-INV-1')",
        },
        {
            content: "The second charge is there too",
            trigger: ".o_field_widget[name='transaction_ids'] .o_data_row:contains('TOUR-INV-2')",
        },
        {
            content: "The fees of the payout",
            trigger: ".o_field_widget[name='fee_amount']:contains('4.95')",
        },
        {
            content: "The amount paid out",
            trigger: ".o_field_widget[name='amount']:contains('145.05')",
        },
        {
            content: "The bank line that paid it",
            trigger: ".o_field_widget[name='bank_line_label']:contains('STRIPE PAYOUT')",
        },
        {
            content: "Received on the bank journal",
            trigger: ".o_field_widget[name='bank_line_amount']:contains('145.05')",
        },
    ],
});
