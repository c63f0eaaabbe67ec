import { registry } from "@web/core/registry";
import { openFinsyncMenu } from "@finsync_base/tours/finsync_tour_steps";
import { inputFiles } from "@web/../tests/utils";

function entry(amount, ref, name, iban, remittance) {
    const account = iban ? `<DbtrAcct><Id><IBAN>${iban}</IBAN></Id></DbtrAcct>` : "";
    return `<Ntry><Amt Ccy="USD">${amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-05-10</Dt></BookgDt><AcctSvcrRef>${ref}</AcctSvcrRef>
        <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>${name}</Nm></Dbtr>${account}</RltdPties>
        <RmtInf><Ustrd>${remittance}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>`;
}

function mayStatement() {
    return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MATCH-TOUR-1</MsgId><CreDtTm>2026-05-31T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>MATCH-TOUR-STMT-1</Id>
      <Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>USD</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-05-01</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">430.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-05-31</Dt></Dt></Bal>
      ${entry("250.50", "MT-1", "Azure Interior", "", "payment tour-inv-a1")}
      ${entry("80.00", "MT-2", "Deco Addict", "", "TOUR-INV-B2 thanks")}
      ${entry("100.00", "MT-3", "Tour Twin Customer", "NL02ABNA0123456712", "May order")}
    </Stmt>
  </BkToCstmrStmt>
</Document>`;
}

/**
 * An accountant imports a statement, sees how many lines FinSync reconciled on
 * its own, and resolves the ambiguous one with the manual-match wizard.
 */
registry.category("web_tour.tours").add("finsync_matching_import_tour", {
    url: "/odoo",
    steps: () => [
        ...openFinsyncMenu(),
        {
            content: "Import statements",
            trigger: ".dropdown-item:contains('Import Statements')",
            run: "click",
        },
        {
            content: "Upload the bank's file",
            trigger: ".modal .o_field_many2many_binary",
            async run() {
                const file = new File([mayStatement()], "may.xml", { type: "text/xml" });
                await inputFiles(".modal .o_field_many2many_binary input[type='file']", [file]);
            },
        },
        {
            content: "The file is attached",
            trigger: ".modal .o_attachment:contains('may.xml')",
        },
        {
            content: "Preview it",
            trigger: ".modal button[name='action_preview']",
            run: "click",
        },
        {
            content: "Import",
            trigger: ".modal button[name='action_import']",
            run: "click",
        },
        {
            content: "Two lines were reconciled on their own, one is left to review",
            trigger: ".modal .alert-success:contains('2 reconciled automatically, 1 to review.')",
        },
        {
            content: "Review what is left",
            trigger: ".modal button[name='action_view_match_exceptions']",
            run: "click",
        },
        {
            content: "Open the ambiguous line",
            trigger: ".o_list_view .o_data_row:contains('Ambiguous') .o_data_cell",
            run: "click",
        },
        {
            content: "Match it by hand",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_open_match_wizard']",
            run: "click",
        },
        {
            content: "Both invoices of the customer are candidates",
            trigger: ".modal .o_field_widget[name='line_ids'] .o_data_row:nth-child(2)",
        },
        {
            content: "Choose the first one",
            trigger:
                ".modal .o_field_widget[name='line_ids'] .o_data_row:first-child .o_field_widget[name='selected'] input",
            run: "click",
        },
        {
            content: "Nothing is left to allocate",
            trigger: ".modal .o_field_widget[name='difference'].text-success",
        },
        {
            content: "Reconcile",
            trigger: ".modal .modal-footer button[name='action_confirm']:not(.d-none):visible",
            run: "click",
        },
        {
            content: "The exception is resolved",
            trigger: ".o_form_view .o_statusbar_status .o_arrow_button_current:contains('Resolved')",
        },
    ],
});
