from . import bank_connectors
