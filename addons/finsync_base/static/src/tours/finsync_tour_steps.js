/**
 * Steps FinSync's tours share: from Odoo's home screen to the FinSync menu of
 * Accounting (opened, so the next step picks one of its entries).
 */
export function openFinsyncMenu() {
    return [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "Open Accounting",
            trigger: ".o_app[data-menu-xmlid='account.menu_finance']",
            run: "click",
        },
        {
            content: "Open the FinSync menu",
            trigger: ".o_menu_sections button:contains('FinSync')",
            run: "click",
        },
    ];
}
