"""Exceptions the engine raises on purpose.

They subclass the built-in types users expect to catch (``ValueError`` and so on); the op
dispatcher uses the ``OpError`` marker to tell its own, already clear messages apart from
errors escaping an array library, which it re-raises with the op's name and input shapes.
"""


class OpError(Exception):
    """Marker base: a message written by the engine that names the op and the values."""


class OpValueError(OpError, ValueError):
    pass


class OpTypeError(OpError, TypeError):
    pass


class OpIndexError(OpError, IndexError):
    pass


class OpRuntimeError(OpError, RuntimeError):
    pass
