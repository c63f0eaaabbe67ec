from . import (
    test_accounting,
    test_mapping,
    test_pull,
    test_signature,
    test_ui_tour,
    test_webhook,
)
from . import test_matching_job
