from . import (
    test_accounting,
    test_client,
    test_import,
    test_mapping,
    test_pull,
    test_reports,
    test_settlement,
    test_webhook,
)
