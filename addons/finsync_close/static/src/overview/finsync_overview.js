/** @odoo-module **/
import { Component, onMounted, onWillStart, onWillUnmount, useRef, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

const COLOURS = { green: "#28a745", amber: "#f0ad4e", red: "#dc3545" };

export class FinsyncOverview extends Component {
    static template = "finsync_close.Overview";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.companyService = useService("company");
        this.state = useState({ data: null });
        this.charts = [];
        this.unreconciledCanvas = useRef("unreconciled");
        this.exceptionsCanvas = useRef("exceptions");
        this.autoMatchCanvas = useRef("autoMatch");
        onWillStart(async () => {
            await Promise.all([loadBundle("web.chartjs_lib"), this.load()]);
        });
        onMounted(() => this.renderCharts());
        onWillUnmount(() => this.charts.forEach((chart) => chart.destroy()));
    }

    async load() {
        this.state.data = await this.orm.call("finsync.figures", "get_overview", [], {
            company_id: this.companyService.currentCompany.id,
        });
    }

    async refresh() {
        await this.load();
        this.charts.forEach((chart) => chart.destroy());
        this.charts = [];
        this.renderCharts();
    }

    colour(name) {
        return COLOURS[name] || "#6c757d";
    }

    formatSeconds(value) {
        if (value === null || value === undefined) {
            return "–";
        }
        if (value < 60) {
            return `${value.toFixed(1)} s`;
        }
        if (value < 3600) {
            return `${(value / 60).toFixed(1)} min`;
        }
        return `${(value / 3600).toFixed(1)} h`;
    }

    open(target) {
        if (!target) {
            return;
        }
        if (target.type) {
            // A whole action (the bank reconciliation workbench).
            return this.action.doAction(target);
        }
        if (target.res_id) {
            return this.action.doAction({
                type: "ir.actions.act_window",
                res_model: target.res_model,
                res_id: target.res_id,
                views: [[false, "form"]],
            });
        }
        return this.action.doAction({
            type: "ir.actions.act_window",
            name: target.name,
            res_model: target.res_model,
            domain: target.domain,
            views: target.views || [
                [false, "list"],
                [false, "form"],
            ],
        });
    }

    renderCharts() {
        const trends = this.state.data && this.state.data.trends;
        if (!trends || !window.Chart) {
            return;
        }
        const make = (ref, config) => {
            if (ref.el) {
                this.charts.push(new window.Chart(ref.el, config));
            }
        };
        const options = {
            responsive: true,
            maintainAspectRatio: false,
            animation: false,
            plugins: { legend: { display: true, position: "bottom" } },
        };
        make(this.unreconciledCanvas, {
            type: "bar",
            data: {
                labels: trends.unreconciled_per_day.map((row) => row[0]),
                datasets: [
                    {
                        label: _t("Unreconciled lines by booking day"),
                        data: trends.unreconciled_per_day.map((row) => row[1]),
                        backgroundColor: "#4e79a7",
                    },
                ],
            },
            options,
        });
        make(this.exceptionsCanvas, {
            type: "bar",
            data: {
                labels: trends.exceptions_per_week.map((row) => row[0]),
                datasets: [
                    {
                        label: _t("Opened"),
                        data: trends.exceptions_per_week.map((row) => row[1]),
                        backgroundColor: "#e15759",
                    },
                    {
                        label: _t("Resolved"),
                        data: trends.exceptions_per_week.map((row) => row[2]),
                        backgroundColor: "#59a14f",
                    },
                ],
            },
            options,
        });
        make(this.autoMatchCanvas, {
            type: "line",
            data: {
                labels: trends.auto_match_per_week.map((row) => row[0]),
                datasets: [
                    {
                        label: _t("Auto-match rate (%)"),
                        data: trends.auto_match_per_week.map((row) => row[1]),
                        borderColor: "#76b7b2",
                        backgroundColor: "#76b7b2",
                        spanGaps: true,
                    },
                ],
            },
            options: { ...options, scales: { y: { min: 0, max: 100 } } },
        });
    }
}

registry.category("actions").add("finsync_close.overview", FinsyncOverview);
