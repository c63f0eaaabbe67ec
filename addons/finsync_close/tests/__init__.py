from . import test_close
from . import test_metrics
from . import test_overview
from . import test_overview_tour
from . import test_alerts
from . import test_workbench_tour
