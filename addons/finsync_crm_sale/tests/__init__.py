from . import test_sale_orders
