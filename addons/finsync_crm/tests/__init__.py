from . import test_client, test_decisions, test_mapper, test_sync
from . import test_opportunities, test_writeback, test_ui_tour, test_bulk, test_ingest_page
from . import test_invoice_bulk
