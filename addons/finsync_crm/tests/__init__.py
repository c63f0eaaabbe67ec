from . import test_client, test_decisions, test_mapper, test_sync
