from . import webhook
from . import queue_job
