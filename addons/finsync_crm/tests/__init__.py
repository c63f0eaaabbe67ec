from . import test_client, test_sync, test_decisions
