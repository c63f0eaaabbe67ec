from . import test_client, test_sync, test_decisions
from . import test_opportunities, test_writeback, test_ui_tour
