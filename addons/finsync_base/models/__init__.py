from . import finsync_backend
from . import finsync_event
from . import finsync_transaction
from . import finsync_transaction_transition
from . import finsync_exception_sla
from . import finsync_exception_reason
from . import finsync_exception
from . import finsync_backend_demo
