"""Column-by-column comparison of invoices, for the tests of the set-based drafts."""

# Columns that hold ids or the moment of writing, not values a user sees.
SKIPPED = {"id", "create_uid", "create_date", "write_uid", "write_date", "move_id"}
# Message columns that differ by nature between two posts (ids, times, Message-Id).
MESSAGE_SKIPPED = SKIPPED | {"res_id", "message_id", "date"}


class InvoiceSnapshotMixin:
    """``_assert_same(orm_moves, fast_moves)``: every stored column equal."""

    def _rows(self, query, ids):
        self.env.flush_all()
        self.env.cr.execute(query, [ids])
        names = [column.name for column in self.env.cr.description]
        return [dict(zip(names, row, strict=True)) for row in self.env.cr.fetchall()]

    def _snapshot(self, move):
        """Every stored column of the invoice, its items (with their taxes and tax
        tags), its followers and messages, without ids and times."""
        self.env.invalidate_all()
        header = self._rows("SELECT * FROM account_move WHERE id = ANY(%s)", [move.id])[0]
        lines = self._rows(
            "SELECT * FROM account_move_line WHERE move_id = ANY(%s)"
            " ORDER BY sequence, display_type, name, balance",
            [move.id],
        )
        for line in lines:
            for table, column in (
                ("account_move_line_account_tax_rel", "account_tax_id"),
                ("account_account_tag_account_move_line_rel", "account_account_tag_id"),
            ):
                rows = self._rows(
                    f"SELECT {column} FROM {table} WHERE account_move_line_id = ANY(%s)"
                    f" ORDER BY {column}",
                    [line["id"]],
                )
                line[column] = [row[column] for row in rows]
        followers = self._rows(
            "SELECT partner_id, ARRAY(SELECT mail_message_subtype_id"
            " FROM mail_followers_mail_message_subtype_rel rel"
            " WHERE rel.mail_followers_id = f.id ORDER BY 1) AS subtypes"
            " FROM mail_followers f WHERE res_model = 'account.move' AND res_id = ANY(%s)"
            " ORDER BY partner_id",
            [move.id],
        )
        messages = self._rows(
            "SELECT * FROM mail_message WHERE model = 'account.move' AND res_id = ANY(%s)"
            " ORDER BY id",
            [move.id],
        )
        return {
            "move": {k: v for k, v in header.items() if k not in SKIPPED},
            "lines": [{k: v for k, v in line.items() if k not in SKIPPED} for line in lines],
            "followers": followers,
            "messages": [
                {k: v for k, v in message.items() if k not in MESSAGE_SKIPPED}
                for message in messages
            ],
        }

    def _assert_same(self, orm_moves, fast_moves):
        self.assertEqual(len(orm_moves), len(fast_moves))
        for index, (orm, fast) in enumerate(zip(orm_moves, fast_moves, strict=True)):
            with self.subTest(case=index):
                expected, got = self._snapshot(orm), self._snapshot(fast)
                self.assertEqual(got["move"], expected["move"])
                self.assertEqual(len(got["lines"]), len(expected["lines"]))
                for got_line, expected_line in zip(got["lines"], expected["lines"], strict=True):
                    self.assertEqual(got_line, expected_line)
                self.assertEqual(got["followers"], expected["followers"])
                self.assertEqual(got["messages"], expected["messages"])
