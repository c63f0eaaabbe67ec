from . import finsync_backend
from . import finsync_backend_bank_api
from . import finsync_bank_profile
from . import account_bank_statement_line
from . import account_journal
from . import finsync_bank_importer
from . import finsync_event
from . import finsync_transaction
