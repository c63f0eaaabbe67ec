import { registry } from "@web/core/registry";
import { openFinsyncMenu } from "@finsync_base/tours/finsync_tour_steps";
import { inputFiles } from "@web/../tests/utils";

function camt(iban, ref) {
    return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>TOUR-1</MsgId><CreDtTm>2026-04-30T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>TOUR-STMT-1</Id>
      <Acct><Id><IBAN>${iban}</IBAN></Id><Ccy>USD</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-04-01</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">330.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-04-30</Dt></Dt></Bal>
      <Ntry><Amt Ccy="USD">250.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-04-10</Dt></BookgDt><AcctSvcrRef>${ref}-1</AcctSvcrRef>
        <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Azure Interior</Nm></Dbtr></RltdPties>
        <RmtInf><Ustrd>INV/2026/00042</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
      <Ntry><Amt Ccy="USD">20.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-04-11</Dt></BookgDt><AcctSvcrRef>${ref}-2</AcctSvcrRef>
        <NtryDtls><TxDtls><RmtInf><Ustrd>Bank fees April</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>`;
}

/**
 * An accountant imports a CAMT.053 file from FinSync's menu: she uploads it,
 * checks the preview (account, journal, new lines) and imports it.
 */
registry.category("web_tour.tours").add("finsync_bank_import_tour", {
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
                const file = new File([camt("NL91ABNA0417164300", "TOUR-REF")], "april.xml", {
                    type: "text/xml",
                });
                await inputFiles(".modal .o_field_many2many_binary input[type='file']", [file]);
            },
        },
        {
            content: "The file is attached",
            trigger: ".modal .o_attachment:contains('april.xml')",
        },
        {
            content: "Preview it",
            trigger: ".modal button[name='action_preview']",
            run: "click",
        },
        {
            content: "The preview finds the account and two new lines",
            trigger: ".modal .o_data_row:contains('NL91ABNA0417164300'):contains('camt.053')",
        },
        {
            content: "Import",
            trigger: ".modal button[name='action_import']",
            run: "click",
        },
        {
            content: "FinSync says what it did",
            trigger: ".modal .alert-success:contains('2 new, 0 already imported.')",
        },
    ],
});

function mayFile() {
    const transfer = new DataTransfer();
    transfer.items.add(
        new File([camt("BE68539007547034", "DROP-REF")], "may.xml", { type: "text/xml" })
    );
    return transfer;
}

/**
 * The same import, started by dropping the file on the bank journal's card of
 * the Accounting dashboard.
 */
registry.category("web_tour.tours").add("finsync_bank_drop_tour", {
    url: "/odoo/action-account.open_account_journal_dashboard_kanban",
    steps: () => [
        {
            content: "Drag the bank's file over the demo bank journal",
            trigger: ".o_kanban_record:contains('FinSync Demo Bank')",
            run() {
                this.anchor.dispatchEvent(
                    new DragEvent("dragenter", { dataTransfer: mayFile(), bubbles: true })
                );
            },
        },
        {
            content: "Drop it",
            trigger: ".o_kanban_record:contains('FinSync Demo Bank') .o_drop_area",
            run() {
                this.anchor.dispatchEvent(
                    new DragEvent("drop", { dataTransfer: mayFile(), bubbles: true, cancelable: true })
                );
            },
        },
        {
            content: "The import opens with the dropped file",
            trigger: ".modal .o_attachment:contains('may.xml')",
        },
        {
            content: "Preview it",
            trigger: ".modal button[name='action_preview']",
            run: "click",
        },
        {
            content: "The preview finds the demo bank journal",
            trigger: ".modal .o_data_row:contains('BE68539007547034'):contains('FinSync Demo Bank')",
        },
        {
            content: "Import",
            trigger: ".modal button[name='action_import']",
            run: "click",
        },
        {
            content: "FinSync says what it did",
            trigger: ".modal .alert-success:contains('2 new, 0 already imported.')",
        },
    ],
});
