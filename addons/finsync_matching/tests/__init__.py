from . import test_engine
from . import test_reconcile
from . import test_proposals
from . import test_backtest
