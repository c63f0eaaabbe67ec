from . import test_canonical
from . import test_redact
from . import test_transaction_state
from . import test_event_inbox
from . import test_event_concurrency
from . import test_exception
from . import test_security
from . import test_ui_tour
