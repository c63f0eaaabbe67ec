from . import test_client, test_mapping, test_reports
