from . import components, controllers, models
