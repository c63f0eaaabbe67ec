from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..parsers import csv_profile
from ..parsers.base import ParseError

# The keys of a parser profile (parsers.csv_profile), each a field of this model.
PROFILE_KEYS = (
    "encoding",
    "delimiter",
    "quotechar",
    "has_header",
    "skip_lines_before_header",
    "skip_footer_lines",
    "skip_empty_lines",
    "date_column",
    "date_format",
    "decimal_separator",
    "thousands_separator",
    "amount_column",
    "debit_column",
    "credit_column",
    "debit_credit_column",
    "debit_value",
    "credit_value",
    "amount_inverse_sign",
    "balance_column",
    "currency",
    "original_amount_column",
    "original_currency_column",
    "description_columns",
    "partner_name_column",
    "bank_account_column",
)
# Keys that are lists of column names in the parser's profile.
LIST_KEYS = ("description_columns",)


class FinsyncBankProfile(models.Model):
    """How one bank's CSV or Excel exports are read (a parser profile, as a record)."""

    _name = "finsync.bank.profile"
    _description = "FinSync Bank File Profile"
    _order = "name"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    encoding = fields.Char(default="utf-8", required=True)
    delimiter = fields.Char(default=",", required=True, size=1)
    quotechar = fields.Char(default='"', size=1)
    has_header = fields.Boolean(default=True)
    skip_lines_before_header = fields.Integer()
    skip_footer_lines = fields.Integer()
    skip_empty_lines = fields.Boolean(default=True)
    date_column = fields.Char(required=True)
    date_format = fields.Char(default="%Y-%m-%d", required=True, help="strptime format")
    decimal_separator = fields.Char(default=".", required=True, size=1)
    thousands_separator = fields.Char(size=1)
    amount_column = fields.Char()
    debit_column = fields.Char()
    credit_column = fields.Char()
    debit_credit_column = fields.Char(string="Debit/Credit Column")
    debit_value = fields.Char()
    credit_value = fields.Char()
    amount_inverse_sign = fields.Boolean(string="Inverse Amount Sign")
    balance_column = fields.Char(help="Balance after the row")
    currency = fields.Char(help="ISO code of the statement currency")
    original_amount_column = fields.Char()
    original_currency_column = fields.Char()
    description_columns = fields.Char(help="Comma-separated columns joined into the label")
    partner_name_column = fields.Char()
    bank_account_column = fields.Char()

    @api.constrains(
        "amount_column", "debit_column", "credit_column", "debit_credit_column", "date_format"
    )
    def _check_profile(self):
        for profile in self:
            try:
                csv_profile.validate_profile(profile._to_parser_profile())
            except ParseError as err:
                raise ValidationError(
                    self.env._("Profile %(name)s: %(error)s", name=profile.name, error=err.message)
                ) from err

    def _to_parser_profile(self):
        """The profile dict of ``parsers.csv_profile`` (see its docstring)."""
        self.ensure_one()
        profile = {}
        for key in PROFILE_KEYS:
            value = self[key]
            if key in LIST_KEYS:
                value = [col.strip() for col in (value or "").split(",") if col.strip()]
            elif self._fields[key].type == "char":
                value = value or None
            profile[key] = value
        return profile
