from . import finsync_exception_assign
from . import finsync_exception_resolve
