from . import finsync_figures
from . import account_journal_overview
from . import finsync_figures_metrics
from . import res_config_settings_metrics
from . import finsync_overview
from . import finsync_alert
