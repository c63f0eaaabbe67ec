from . import finsync_match_rule
from . import finsync_transaction
from . import finsync_matching
from . import account_bank_statement_line
from . import finsync_unreconcile
from . import finsync_match_backtest
