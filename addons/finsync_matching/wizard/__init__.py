from . import finsync_line_wizard_mixin
from . import finsync_match_wizard
from . import finsync_duplicate_wizard
from . import finsync_payment_wizard
from . import finsync_partner_wizard
from . import finsync_writeoff_reject
