from . import test_parser_base
from . import test_parser_ofx
from . import test_parser_camt
from . import test_parser_mt940
from . import test_parser_bai2
from . import test_parser_csv_profile
from . import test_bank_import
from . import test_bank_api
