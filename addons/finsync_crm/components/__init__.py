from . import salesforce_connector
