from . import components, models, wizards
