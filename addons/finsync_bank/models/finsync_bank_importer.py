import logging
import re
from collections import defaultdict
from decimal import Decimal

from odoo import api, models
from odoo.exceptions import UserError

from ..parsers import ParseError, parse_file
from ..parsers.base import amount_key

_logger = logging.getLogger(__name__)

# Files with more new lines than this are posted in jobs, not in the request.
SYNC_POSTING_LIMIT = 2000
# Parser warnings that mean the file does not add up: the import opens an exception.
MISMATCH_WARNINGS = ("totals_mismatch", "balance_mismatch", "control_total_mismatch")


def sanitize_account(number):
    """Account numbers compared as Odoo compares them: alphanumerics, upper case."""
    return re.sub(r"[^A-Za-z0-9]", "", number or "").upper()


class UnknownBankAccount(UserError):
    """No bank journal holds a statement's account: the import wizard offers to create one."""

    def __init__(self, message, account, currency):
        super().__init__(message)
        self.account = account
        self.currency = currency


class FinsyncBankImporter(models.AbstractModel):
    """Bank statement files into canonical transactions and Odoo statements.

    The flow, one overridable step each: ``_parse_file`` (bytes -> ParseResult,
    errors naming file and line), ``_resolve_journals`` (account and currency ->
    bank journal), ``_import_statements`` (transactions, statements and lines,
    skipping lines imported before), ``_check_continuity`` (gaps and totals ->
    exceptions). Everything runs in the caller's transaction: an import lands
    whole or not at all.
    """

    _name = "finsync.bank.importer"
    _description = "FinSync Bank Statement Import"

    # ------------------------------------------------------------------
    # Parsing
    # ------------------------------------------------------------------
    @api.model
    def _parse_file(self, filename, data, profile=None, max_bytes=None):
        try:
            return parse_file(data, filename=filename, profile=profile, max_bytes=max_bytes)
        except ParseError as err:
            raise UserError(self._parse_error_message(filename, err)) from err
        except Exception as err:  # a parser's slip is still the file's error
            raise UserError(self._unexpected_error_message(filename, err)) from err

    @api.model
    def _parse_error_message(self, filename, err):
        where = err.where()
        if where:
            return self.env._(
                "%(file)s, %(where)s: %(problem)s", file=filename, where=where, problem=err.message
            )
        return self.env._("%(file)s: %(problem)s", file=filename, problem=err.message)

    @api.model
    def _unexpected_error_message(self, filename, err):
        """One line naming the file for an error no parser worded (a bug, the database)."""
        return self.env["finsync.file.import"]._unexpected_error_message(filename, err)

    # ------------------------------------------------------------------
    # Journals
    # ------------------------------------------------------------------
    @api.model
    def _resolve_journals(self, filename, statements, journal=None):
        """The bank journal of each statement, by account number and currency."""
        journals = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "in", self.env.companies.ids)]
        )
        by_account = {}
        for candidate in journals:
            number = sanitize_account(candidate.bank_account_id.acc_number)
            if number:
                by_account.setdefault(number, self.env["account.journal"])
                by_account[number] |= candidate
        return [self._journal_for(filename, st, journal, by_account) for st in statements]

    @api.model
    def _journal_for(self, filename, statement, journal, by_account):
        account = sanitize_account(statement.account)
        # MT940 keeps ``bank/account`` whole; the journal may hold either.
        accounts = {account, sanitize_account(statement.extra.get("account_number"))} - {""}
        candidates = self.env["account.journal"]
        for number, found in by_account.items():
            if any(
                number == acc or number.endswith(acc) or acc.endswith(number) for acc in accounts
            ):
                candidates |= found
        if statement.currency:
            candidates = candidates.filtered(
                lambda j: (j.currency_id or j.company_id.currency_id).name == statement.currency
            )
        # A journal another module keeps for its own lines (a gateway's clearing
        # journal) never receives a bank statement, chosen or found by its number.
        candidates = candidates.filtered(lambda j: not j._finsync_statement_target_error())
        if journal:
            refusal = journal._finsync_statement_target_error()
            if refusal:
                raise UserError(self.env._("%(file)s: %(reason)s", file=filename, reason=refusal))
            if account and journal.bank_account_id and journal not in candidates:
                raise UserError(
                    self.env._(
                        "%(file)s: the statement of account %(account)s (%(currency)s) does "
                        "not belong to journal %(journal)s.",
                        file=filename,
                        account=statement.account,
                        currency=statement.currency or "",
                        journal=journal.display_name,
                    )
                )
            self._check_currency(filename, statement, journal)
            return journal
        if len(candidates) != 1:
            error = UnknownBankAccount if account and not candidates else UserError
            raise error(
                self.env._(
                    "%(file)s: no single bank journal for account %(account)s in "
                    "%(currency)s (%(count)s found). Set this account number on one bank "
                    "journal, or import from that journal.",
                    file=filename,
                    account=statement.account or "?",
                    currency=statement.currency or "?",
                    count=len(candidates),
                ),
                *((statement.account, statement.currency) if error is UnknownBankAccount else ()),
            )
        return candidates

    @api.model
    def _check_currency(self, filename, statement, journal):
        journal_currency = (journal.currency_id or journal.company_id.currency_id).name
        if statement.currency and statement.currency != journal_currency:
            raise UserError(
                self.env._(
                    "%(file)s: the statement is in %(currency)s but journal %(journal)s "
                    "keeps %(journal_currency)s.",
                    file=filename,
                    currency=statement.currency,
                    journal=journal.display_name,
                    journal_currency=journal_currency,
                )
            )

    # ------------------------------------------------------------------
    # Import
    # ------------------------------------------------------------------
    @api.model
    def _import_event(self, event, journal=None, profile=None):
        """Import one stored file event; returns ``{"new": n, "duplicate": m, ...}``."""
        filename = event.payload_filename or event.name
        result = self._parse_file(
            filename,
            event._get_raw_payload(),
            profile=profile,
            max_bytes=event.backend_id.max_file_size_mb * 1024 * 1024,
        )
        journals = self._resolve_journals(filename, result.statements, journal)
        summary = self._import_statements(event, result, journals)
        summary["jobs"] = self._post(summary["transactions"])
        summary["exceptions"] = self._check_continuity(event, result, journals, summary)
        _logger.info(
            "FinSync bank file event %s (%s): %d new lines, %d already imported",
            event.id,
            result.format,
            summary["new"],
            summary["duplicate"],
        )
        return summary

    @api.model
    def _import_statements(self, event, result, journals):
        """Transactions for the lines not imported before, and a statement per account.

        Statement lines are posted afterwards (``_post``): at once for usual
        files, in jobs for large ones. An entry first seen pending (a camt.052
        intraday report, an MT942) and now booked is not new: its transaction is
        the one that goes on the statement and settles (``_promote_pending``).
        """
        unique_ids = [tx.unique_id for st in result.statements for tx in st.transactions]
        existing = set(
            self.env["finsync.transaction"]
            .search([("backend_id", "=", event.backend_id.id), ("external_id", "in", unique_ids)])
            .mapped("external_id")
        )
        pending = self._pending_transactions(event, result, journals)
        currencies = self._currencies(event, result, journals)
        plan = []
        promoted = {}  # id(parsed entry) -> the pending transaction it books
        for statement, journal in zip(result.statements, journals, strict=True):
            for tx in statement.transactions:
                if tx.extra.get("status") == "pending":
                    continue
                match = pending.pop(self._pending_key(journal, tx, by_id=True), None) or (
                    pending.pop(self._pending_key(journal, tx), None)
                )
                if match:
                    promoted[id(tx)] = match
            new = [
                tx
                for tx in statement.transactions
                if id(tx) not in promoted and tx.unique_id not in existing
            ]
            existing.update(tx.unique_id for tx in new)
            booked = [tx for tx in new if tx.extra.get("status") != "pending"]
            booked += [tx for tx in statement.transactions if id(tx) in promoted]
            plan.append((statement, journal, new, booked))
        statements = self.env["account.bank.statement"].create(
            [
                self._prepare_statement(event, statement, journal, booked)
                for statement, journal, _new, booked in plan
                if booked
            ]
        )
        statement_iter = iter(statements)
        tx_vals = []
        promotions = []
        for statement, journal, new, booked in plan:
            bank_statement = next(statement_iter) if booked else statements.browse()
            currency = currencies[statement.currency or self._journal_currency(journal)]
            booked_ids = {id(tx) for tx in booked}
            for tx in new:
                vals = self._prepare_transaction(event, statement, tx, currency)
                vals["bank_journal_id"] = journal.id
                if id(tx) in booked_ids:
                    vals["bank_statement_id"] = bank_statement.id
                tx_vals.append(vals)
            promotions += [
                (promoted[id(tx)], tx, bank_statement)
                for tx in statement.transactions
                if id(tx) in promoted
            ]
        transactions = self.env["finsync.transaction"]._create_bulk(
            tx_vals, reason=self.env._("Imported from %(file)s", file=event.name)
        )
        transactions |= self._promote_pending(event, promotions)
        new_count = len(tx_vals) + len(promotions)
        return {
            "new": new_count,
            "duplicate": len(unique_ids) - new_count,
            "booked_pending": len(promotions),
            "statements": statements,
            "transactions": transactions,
        }

    @api.model
    def _pending_key(self, journal, tx, by_id=False):
        """How a booked entry finds the pending transaction it books.

        By the same id (an entry whose reference, date and amount did not
        change), else by the bank's reference and amount: the booking date of a
        pending entry is often the expected one.
        """
        if by_id:
            return ("id", journal.id, tx.unique_id)
        if not tx.bank_reference:
            return None
        return ("ref", journal.id, tx.bank_reference, amount_key(tx.amount))

    @api.model
    def _pending_transactions(self, event, result, journals):
        """The journals' pending transactions this file may book, by ``_pending_key``."""
        booked = [
            tx
            for statement in result.statements
            for tx in statement.transactions
            if tx.extra.get("status") != "pending"
        ]
        if not booked:
            return {}
        references = {tx.bank_reference for tx in booked if tx.bank_reference}
        unique_ids = {tx.unique_id for tx in booked}
        candidates = self.env["finsync.transaction"].search(
            [
                ("backend_id", "=", event.backend_id.id),
                ("bank_journal_id", "in", [journal.id for journal in journals]),
                ("state", "=", "acknowledged"),
                ("bank_statement_id", "=", False),
                "|",
                ("external_id", "in", list(unique_ids)),
                ("bank_reference", "in", list(references)),
            ]
        )
        pending = {}
        for candidate in candidates:
            pending[("id", candidate.bank_journal_id.id, candidate.external_id)] = candidate
            if candidate.bank_reference:
                amount = amount_key(
                    Decimal(str(candidate.amount)).quantize(
                        Decimal(10) ** -candidate.currency_id.decimal_places
                    )
                )
                pending[("ref", candidate.bank_journal_id.id, candidate.bank_reference, amount)] = (
                    candidate
                )
        return pending

    @api.model
    def _promote_pending(self, event, promotions):
        """Put the booked entries' pending transactions on their statements and settle them."""
        # One write per statement and dates: a day's file books its pending entries at once.
        groups = defaultdict(lambda: self.env["finsync.transaction"])
        for transaction, tx, bank_statement in promotions:
            key = (
                bank_statement.id,
                tx.booking_date or tx.value_date or transaction.booking_date,
                tx.value_date or transaction.value_date,
            )
            groups[key] |= transaction
        promoted = self.env["finsync.transaction"]
        for (statement_id, booking_date, value_date), transactions in groups.items():
            transactions._write_protected(
                {
                    "bank_statement_id": statement_id,
                    "booking_date": booking_date,
                    "value_date": value_date,
                }
            )
            promoted |= transactions
        if promoted:
            promoted._transition(
                "settled",
                reason=self.env._("Booked in %(file)s", file=event.name),
                event=event,
            )
        return promoted

    @api.model
    def _post(self, transactions, sync_limit=None, chunk_size=None):
        """Post the statement lines now, or in jobs of ``chunk_size`` lines when there are many."""
        if sync_limit is None:
            sync_limit = self.env.context.get("finsync_sync_posting_limit", SYNC_POSTING_LIMIT)
        to_post = transactions.filtered("bank_statement_id")
        if len(to_post) <= sync_limit:
            to_post._post_statement_lines()
            return []
        if chunk_size:
            return to_post._enqueue_posting(chunk_size=chunk_size)
        return to_post._enqueue_posting()

    @api.model
    def _journal_currency(self, journal):
        return (journal.currency_id or journal.company_id.currency_id).name

    @api.model
    def _currencies(self, event, result, journals):
        codes = {self._journal_currency(journal) for journal in journals}
        codes |= {st.currency for st in result.statements if st.currency}
        codes |= {tx.currency for st in result.statements for tx in st.transactions if tx.currency}
        return self.env["finsync.transaction"]._currencies_by_code(codes, event.name)

    @api.model
    def _prepare_transaction(self, event, statement, tx, currency):
        pending = tx.extra.get("status") == "pending"
        vals = {
            "backend_id": event.backend_id.id,
            "company_id": event.company_id.id,
            "event_id": event.id,
            "correlation_id": event.correlation_id,
            "external_id": tx.unique_id,
            "kind": "bank_credit" if tx.amount >= 0 else "bank_debit",
            "state": "acknowledged" if pending else "settled",
            "currency_id": currency.id,
            "amount": float(tx.amount),
            "booking_date": tx.booking_date or tx.value_date or statement.closing_date,
            "value_date": tx.value_date,
            "counterparty_name": tx.counterparty_name,
            "counterparty_account": tx.counterparty_account,
            "remittance": tx.remittance,
            "structured_reference": tx.structured_reference,
            "end_to_end_id": tx.end_to_end_id,
            "bank_reference": tx.bank_reference,
            "bank_transaction_code": tx.bank_transaction_code,
        }
        return vals

    @api.model
    def _prepare_statement(self, event, statement, journal, booked):
        total = sum((tx.amount for tx in booked), start=type(booked[0].amount)(0))
        vals = {
            "name": statement.statement_id or event.payload_filename or event.name,
            "journal_id": journal.id,
        }
        if statement.closing_balance is not None:
            vals["balance_end_real"] = float(statement.closing_balance)
            # Lines imported before are not repeated: the statement starts where
            # its new lines begin.
            vals["balance_start"] = float(statement.closing_balance - total)
        elif statement.opening_balance is not None:
            vals["balance_start"] = float(statement.opening_balance)
            vals["balance_end_real"] = float(statement.opening_balance + total)
        return vals

    # ------------------------------------------------------------------
    # Continuity
    # ------------------------------------------------------------------
    @api.model
    def _check_continuity(self, event, result, journals, summary):
        """Open an exception where a statement does not continue the last one or add up."""
        problems = []
        last_closing = {}
        for statement, journal in zip(result.statements, journals, strict=True):
            if journal.id not in last_closing:
                previous = self._previous_statement(journal, summary["statements"], statement)
                last_closing[journal.id] = (
                    (previous.name, previous.balance_end_real) if previous else None
                )
            problems += self._statement_problems(statement, journal, last_closing[journal.id])
            if statement.closing_balance is not None:
                last_closing[journal.id] = (
                    statement.statement_id or statement.account,
                    float(statement.closing_balance),
                )
        by_type = {}
        for exception_type, description in problems:
            by_type.setdefault(exception_type, []).append(description)
        exceptions = self.env["finsync.exception"]
        for exception_type, descriptions in by_type.items():
            exceptions |= exceptions._open_for_records(
                exception_type,
                event,
                self._problem_vals_getter(exception_type, "\n".join(descriptions)),
            )
        return exceptions

    @api.model
    def _problem_vals_getter(self, exception_type, description):
        def vals(event):
            return {
                "name": self._problem_title(exception_type, event),
                "description": description,
                "backend_id": event.backend_id.id,
                "event_id": event.id,
            }

        return vals

    @api.model
    def _problem_title(self, exception_type, event):
        if exception_type == "statement_gap":
            return self.env._("Statement gap in %(file)s", file=event.name)
        return self.env._("Balances do not add up in %(file)s", file=event.name)

    @api.model
    def _statement_problems(self, statement, journal, previous):
        problems = []
        currency = journal.currency_id or journal.company_id.currency_id
        for warning in statement.warnings:
            if warning.code in MISMATCH_WARNINGS:
                problems.append(("balance_mismatch", warning.message))
        opening, closing = statement.opening_balance, statement.closing_balance
        booked = [tx for tx in statement.transactions if tx.extra.get("status") != "pending"]
        if opening is not None and closing is not None:
            total = sum(tx.amount for tx in booked)
            if currency.compare_amounts(float(opening + total), float(closing)):
                problems.append(
                    (
                        "balance_mismatch",
                        self.env._(
                            "Account %(account)s: opening %(opening)s plus lines %(total)s "
                            "is not the closing balance %(closing)s.",
                            account=statement.account,
                            opening=opening,
                            total=total,
                            closing=closing,
                        ),
                    )
                )
        if opening is not None and previous:
            previous_name, previous_closing = previous
            if currency.compare_amounts(previous_closing, float(opening)):
                problems.append(
                    (
                        "statement_gap",
                        self.env._(
                            "Account %(account)s: the statement opens at %(opening)s but "
                            "the previous statement %(previous)s closed at %(closing)s.",
                            account=statement.account,
                            opening=opening,
                            previous=previous_name,
                            closing=previous_closing,
                        ),
                    )
                )
        return problems

    @api.model
    def _previous_statement(self, journal, imported, statement):
        domain = [("journal_id", "=", journal.id), ("id", "not in", imported.ids)]
        if statement.opening_date:
            domain.append(("date", "<=", statement.opening_date))
        return self.env["account.bank.statement"].search(
            domain, order="date desc, id desc", limit=1
        )
