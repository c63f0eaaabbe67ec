from . import finsync_backend_demo
