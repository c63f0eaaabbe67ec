import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.queue_job.exception import RetryableJobError

from ..models.bulk_sql import CONCURRENCY_ERRORS
from ..tools.redact import redact_text

_logger = logging.getLogger(__name__)


class FinsyncFileImport(models.AbstractModel):
    """Upload files, preview them, import them whole or not at all: every file import.

    A connector's import wizard is a ``TransientModel`` inheriting this model;
    it brings its upload fields and its format, one overridable step each:

    - ``_prepare_files()``: the uploaded ``[(filename, bytes)]``;
    - ``_get_backend()``: the connector the files belong to (its type's
      ``Connector.max_file_bytes()`` bounds their size);
    - ``_prepare_preview_file(filename, data)`` and ``_prepare_preview_vals(previews)``:
      what a file holds and the wizard values showing it, without writing;
    - ``_prepare_event_vals(filename, data)`` and ``_prepare_processing_vals()``:
      how a file is kept in the inbox, and what the user chose for it;
    - ``_apply_file(event)``: book one stored file (by default the connector's
      mapper, ``event._process_payload()``);
    - ``_prepare_done_vals(events, fresh, results)``: what the wizard says once done.

    The flow is written here: the import runs in a savepoint, so that the
    files land whole or not at all; each file is kept in the inbox
    (``finsync.event._ingest``) either way, a file already imported is not
    booked again, and on failure everything else is rolled back and the files
    stay as failed events with a *sync failed* exception
    (``finsync.event._record_failure``). Errors are one line naming the file
    and, when the format's reader knows it, the line.
    """

    _name = "finsync.file.import"
    _description = "FinSync File Import"

    state = fields.Selection(
        [("upload", "Upload"), ("preview", "Preview"), ("done", "Done"), ("error", "Error")],
        default="upload",
        required=True,
    )
    message = fields.Text(readonly=True)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_preview(self):
        """Read every file and show what it holds; nothing is written."""
        self.ensure_one()
        try:
            files = self._read_files()
            previews = [
                self._file_step(name, self._prepare_preview_file, name, data)
                for name, data in files
            ]
            vals = self._prepare_preview_vals(previews)
        except UserError as err:
            return self._show_error(err.args[0])
        self.write({"state": "preview", "message": False, **vals})
        return self._reopen()

    def action_import(self):
        """Import every file in one transaction; on error only the inbox keeps them."""
        self.ensure_one()
        try:
            files = self._read_files()
        except UserError as err:
            return self._show_error(err.args[0])
        try:
            with self.env.cr.savepoint():
                vals = self._apply_import(files)
        except UserError as err:
            self._keep_failed_files(files, err.args[0])
            return self._show_error(err.args[0])
        self.write({"state": "done", **vals})
        return self._reopen()

    # ------------------------------------------------------------------
    # Steps a connector's wizard overrides
    # ------------------------------------------------------------------
    def _get_backend(self):
        """The connector the uploaded files belong to."""
        raise NotImplementedError

    def _prepare_files(self):
        """The uploaded files as ``[(filename, bytes)]``; a UserError when there is none."""
        raise NotImplementedError

    def _prepare_preview_file(self, filename, data):
        """What one file holds (any value ``_prepare_preview_vals`` reads); never writes."""
        raise NotImplementedError

    def _prepare_preview_vals(self, previews):
        """The wizard's values showing ``previews`` (one per file, in upload order)."""
        return {}

    def _prepare_event_vals(self, filename, data):
        """How one file is kept in the inbox (a ``finsync.event._ingest`` dict)."""
        return {"payload": data, "filename": filename, "name": filename, "event_type": "file"}

    def _prepare_processing_vals(self):
        """What the user chose for the files (journal, profile...), kept on new events."""
        return {}

    def _apply_file(self, event):
        """Book one stored file; raise (a UserError naming file and line) when it cannot."""
        return event._process_payload()

    def _prepare_done_vals(self, events, fresh, results):
        """The wizard's values once the import succeeded.

        ``events`` are the files' events in upload order, ``fresh`` those booked
        now (the others were imported before), ``results`` what ``_apply_file``
        returned for each of ``fresh``, in order.
        """
        new, known = len(fresh), len(events - fresh)
        if not known:
            message = (
                self.env._("1 file imported.")
                if new == 1
                else self.env._("%(count)s files imported.", count=new)
            )
        elif new == 1:
            message = self.env._("1 file imported, %(known)s already imported.", known=known)
        else:
            message = self.env._(
                "%(count)s files imported, %(known)s already imported.", count=new, known=known
            )
        return {"message": message}

    def _import_title(self):
        return self.env._("Import Files")

    # ------------------------------------------------------------------
    # The shared flow
    # ------------------------------------------------------------------
    def _read_files(self):
        """The uploaded files, each within the connector's size limit."""
        files = self._prepare_files()
        self._validate_files(files)
        return files

    def _validate_files(self, files):
        limit = self._get_backend()._connector().max_file_bytes()
        for filename, data in files:
            if limit and len(data) > limit:
                raise UserError(
                    self.env._(
                        "%(file)s is larger than the limit of %(limit)s MB of its connector.",
                        file=filename,
                        limit=f"{limit / (1024 * 1024):g}",
                    )
                )

    def _ingest_files(self, files):
        """Keep the files in the inbox (once); returns their events in upload order."""
        events = self.env["finsync.event"]._ingest(
            self._get_backend(), [self._prepare_event_vals(name, data) for name, data in files]
        )
        vals = self._prepare_processing_vals()
        fresh = events.filtered(lambda event: event.state != "done")
        if vals and fresh:
            fresh._write_processing(vals)
        return events

    def _apply_import(self, files):
        """Store and book the files (run in a savepoint by ``action_import``)."""
        events = self._ingest_files(files)
        fresh = events.filtered(lambda event: event.state != "done")
        results = [self._file_step(event.name, self._apply_file, event) for event in fresh]
        fresh._write_processing(
            {"state": "done", "processed_at": fields.Datetime.now(), "last_error": False}
        )
        for event in fresh:
            event._write_processing({"attempts": event.attempts + 1})
        fresh.backend_id._mark_sync_success()
        return self._prepare_done_vals(events, fresh, results)

    def _file_step(self, filename, step, *args):
        """Run ``step``; an error no reader worded becomes one line naming the file.

        Concurrency errors and retryable ones pass through: the caller retries
        the whole request.
        """
        try:
            return step(*args)
        except (UserError, RetryableJobError, *CONCURRENCY_ERRORS):
            raise
        except Exception as err:  # any other error is this file's
            raise UserError(self._unexpected_error_message(filename, err)) from err

    @api.model
    def _unexpected_error_message(self, filename, err):
        """One line naming the file for an error no reader worded (a bug, the database).

        The first line of the error only: a database error's detail quotes values.
        """
        problem = redact_text((str(err).strip().splitlines() or [""])[0]) or type(err).__name__
        return self.env._(
            "%(file)s could not be imported: %(problem)s", file=filename, problem=problem
        )

    def _keep_failed_files(self, files, message):
        """The raw files stay in the inbox, failed with an exception, to fix and replay."""
        events = self._ingest_files(files)
        failing = events.filtered(lambda event: event.state in ("received", "queued", "failed"))
        failing._record_failure(UserError(message))
        _logger.info("FinSync file import failed for events %s", failing.ids)
        return failing

    def _show_error(self, message):
        self.write({"state": "error", "message": message})
        return self._reopen()

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self._import_title(),
        }
