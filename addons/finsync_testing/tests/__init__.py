from . import test_no_simulator_in_production
