"""A context mark that only server code can set: the pass of protected writes.

Context keys carry options, never permission: JSON-RPC lets a client send any
context. A ``ServerOnly`` guard puts an object in the context that only Python
holding the guard can put there (JSON carries no Python objects), and checks it
by identity. A model keeps its guard module-private and grants it only inside
the private methods that did their own checks first.
"""


class ServerOnly:
    """One guard per protected model (or family of models)."""

    def __init__(self, key):
        self.key = key
        self._mark = object()

    def grant(self, records):
        """``records`` with the mark in their context."""
        return records.with_context(**{self.key: self._mark})

    def granted(self, env):
        """Whether ``env``'s context carries this guard's mark (never true from a client)."""
        return env.context.get(self.key) is self._mark
