from . import finsync_match_rule
from . import finsync_transaction
from . import finsync_matching
