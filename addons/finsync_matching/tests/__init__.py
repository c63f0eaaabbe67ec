from . import test_engine
from . import test_reconcile
from . import test_proposals
from . import test_backtest
from . import test_wizards
from . import test_ui_import_tour
from . import test_ui_writeoff_tour
from . import test_candidate_ranking
