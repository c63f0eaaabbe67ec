from . import finsync_close_check
from . import finsync_close_period
from . import finsync_close_item
from . import finsync_close_log
from . import finsync_close_template
from . import finsync_close_setting
