/** @odoo-module **/
import { useState, useSubEnv } from "@odoo/owl";
import { useHotkey } from "@web/core/hotkeys/hotkey_hook";
import { formatDate } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { formatMonetary } from "@web/views/fields/formatters";
import { ListController } from "@web/views/list/list_controller";
import { ListRenderer } from "@web/views/list/list_renderer";
import { listView } from "@web/views/list/list_view";

/**
 * The bank reconciliation workbench: one line is current (highlighted, shown in
 * the side panel); keys act on it and the next line becomes current, so an
 * accountant works down the list without opening a form.
 *   C confirm the proposal · M Match wizard · W write off · D duplicate
 *   J / ↓ next line · K / ↑ previous line · X select the line (for Confirm Proposals)
 * Clicking a row makes it current instead of opening its form.
 */
export class FinsyncWorkbenchRenderer extends ListRenderer {
    setup() {
        super.setup();
        // Read in getRowClass: the rows follow the current line.
        this.workbench = useState(this.env.finsyncWorkbench.state);
    }

    getRowClass(record) {
        const classes = super.getRowClass(record);
        // Read for the subscription; the current line is the chosen one, else the first.
        this.workbench.currentId; // eslint-disable-line no-unused-expressions
        const current = this.env.finsyncWorkbench.current();
        // Records reach the renderer through other proxies: compare ids.
        return current && record.resId === current.resId
            ? `${classes} o_finsync_current`
            : classes;
    }
}

export class FinsyncWorkbenchController extends ListController {
    static template = "finsync_matching.WorkbenchView";

    setup() {
        super.setup();
        this.orm = useService("orm");
        this.notification = useService("notification");
        this.workbench = useState({ currentId: null, busy: false });
        useSubEnv({
            finsyncWorkbench: { state: this.workbench, current: () => this.currentRecord },
        });
        const keys = {
            c: () => this.confirm(),
            m: () => this.run("action_finsync_open_match_wizard"),
            w: () => this.run("action_finsync_open_writeoff_wizard"),
            d: () => this.run("action_finsync_open_duplicate_wizard"),
            j: () => this.move(1),
            arrowdown: () => this.move(1),
            k: () => this.move(-1),
            arrowup: () => this.move(-1),
            x: () => this.toggleSelection(),
        };
        for (const [key, callback] of Object.entries(keys)) {
            useHotkey(key, callback, { allowRepeat: ["j", "k", "arrowdown", "arrowup"].includes(key) });
        }
    }

    get lines() {
        const root = this.model.root;
        return root.isGrouped ? [] : root.records;
    }

    /** The current line: the one chosen, else the first. */
    get currentRecord() {
        const lines = this.lines;
        return lines.find((record) => record.resId === this.workbench.currentId) || lines[0] || null;
    }

    async openRecord(record) {
        // A click makes the line current; the actions are keys and the panel's buttons.
        this.workbench.currentId = record.resId;
    }

    move(step) {
        const lines = this.lines;
        if (!lines.length) {
            return;
        }
        const index = lines.indexOf(this.currentRecord);
        const next = lines[Math.min(Math.max(index + step, 0), lines.length - 1)];
        this.workbench.currentId = next.resId;
        this.scrollToCurrent();
    }

    scrollToCurrent() {
        requestAnimationFrame(() => {
            const row = this.rootRef.el && this.rootRef.el.querySelector(".o_finsync_current");
            if (row) {
                row.scrollIntoView({ block: "nearest" });
            }
        });
    }

    async toggleSelection() {
        const record = this.currentRecord;
        if (record) {
            record.toggleSelection(!record.selected);
        }
    }

    async confirm() {
        const record = this.currentRecord;
        if (record && !record.data.finsync_has_proposal) {
            this.notification.add(
                _t("This line has no proposal to confirm: press M to match it by hand."),
                { type: "warning" }
            );
            return;
        }
        return this.run("action_finsync_confirm_proposals");
    }

    /** Call the line's action; when it is done (or its wizard closed), go on. */
    async run(method) {
        const record = this.currentRecord;
        if (!record || this.workbench.busy) {
            return;
        }
        const index = this.lines.indexOf(record);
        this.workbench.currentId = record.resId;
        this.workbench.busy = true;
        let action;
        try {
            action = await this.orm.call(this.props.resModel, method, [[record.resId]], {
                context: this.props.context,
            });
        } catch (error) {
            this.workbench.busy = false;
            throw error;
        }
        const done = () => this.afterAction(index, record.resId);
        if (action && action.type === "ir.actions.act_window") {
            await this.actionService.doAction(action, { onClose: done });
        } else {
            if (action) {
                await this.actionService.doAction(action);
            }
            await done();
        }
    }

    /** Reload; the line acted on is current again if it is still to reconcile, else the next. */
    async afterAction(index, resId) {
        try {
            await this.model.root.load();
            const lines = this.lines;
            if (!lines.some((record) => record.resId === resId)) {
                const next = lines[Math.min(index, lines.length - 1)];
                this.workbench.currentId = next ? next.resId : null;
            }
            this.scrollToCurrent();
        } finally {
            this.workbench.busy = false;
        }
    }

    amount(record) {
        return formatMonetary(record.data.amount, { currencyId: record.data.currency_id[0] });
    }

    date(record) {
        return formatDate(record.data.date);
    }

    selectionLabel(record, fieldName) {
        const value = record.data[fieldName];
        const option = (record.fields[fieldName].selection || []).find((opt) => opt[0] === value);
        return option ? option[1] : "";
    }

    ageLabel(days) {
        if (!days) {
            return _t("opened today");
        }
        return days === 1 ? _t("open for 1 day") : _t("open for %s days", days);
    }
}

export const finsyncWorkbenchView = {
    ...listView,
    Controller: FinsyncWorkbenchController,
    Renderer: FinsyncWorkbenchRenderer,
};

registry.category("views").add("finsync_workbench", finsyncWorkbenchView);
