from . import finsync_exception_assign
from . import finsync_exception_resolve
from . import finsync_file_import
from . import finsync_generic_import
