"""Internal consumers of the outbox: Python code that reacts to outbound events.

An addon registers a consumer class for event types; every event of those
types (in the companies the consumer ``listens`` in) gets a delivery for the
consumer, exactly like a webhook subscription: same delivery record, retry
schedule, per-record ordering, attempt log, dead letter and replay. Only the
transport differs: ``deliver`` is called instead of an HTTP POST.

::

    from odoo.addons.finsync_base.components.outbox import OutboxConsumer, register_consumer

    @register_consumer("crm_writeback")
    class CrmWriteback(OutboxConsumer):
        event_types = ("invoice.posted", "invoice.paid")
        label = "CRM write-back"

        def listens(self, company_ids):
            # Companies with an active CRM connector (one query, cached per call).
            return set(self.env["finsync.backend"].search([...]).company_id.ids)

        def deliver(self, event, delivery):
            # PATCH by external id; raise to fail this attempt (it is retried).
            ...

Contract of ``deliver``:

- it runs in the delivery job's transaction, as the superuser (``self.env``),
  after the older deliveries of the same record to this consumer were
  delivered or dead-lettered: an older state never overtakes a newer one;
- returning marks the delivery delivered, once; raising any exception rolls
  back what it wrote (savepoint), logs the attempt (the exception's class and
  message, truncated) and schedules the next attempt (``RETRY_SCHEDULE``);
  after the last one the delivery is dead and an exception is opened;
- a remote write must be idempotent on ``event.uuid`` (or on a version the
  remote stores): the job can be interrupted after the remote accepted the
  call and before the transaction committed, and then it runs again.

``unregister_consumer(name)`` removes one (tests register and unregister
theirs in ``setUp`` / ``addCleanup`` so that nothing leaks into the registry).
"""

CONSUMERS = {}


def register_consumer(name):
    """Class decorator: register ``cls`` as the internal consumer ``name``."""

    def decorate(cls):
        if not cls.event_types:
            raise ValueError(f"Outbox consumer {name} declares no event types")
        cls.name = name
        CONSUMERS[name] = cls
        return cls

    return decorate


def unregister_consumer(name):
    CONSUMERS.pop(name, None)


def consumer_class(name):
    return CONSUMERS.get(name)


def consumers_for(event_type):
    """The registered consumer classes that want ``event_type``."""
    return [cls for cls in CONSUMERS.values() if event_type in cls.event_types]


class OutboxConsumer:
    """One internal consumer; see the module's docstring for the contract."""

    name = None
    label = None
    event_types = ()

    def __init__(self, env):
        self.env = env

    def listens(self, company_ids):
        """The ids among ``company_ids`` where this consumer wants its events (default: all).

        Called for every emitted batch: keep it to one query.
        """
        return set(company_ids)

    def owner(self, company):
        """The user who gets the exception of a dead-lettered delivery (None: the policy's)."""
        return None

    def deliver(self, event, delivery):
        """Apply ``event`` (a ``finsync.outbox.event``); raise to fail this attempt."""
        raise NotImplementedError
