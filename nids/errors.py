"""The package's own exception types: every error a user can cause is one of these."""


class NidsError(Exception):
    """Base class: a problem with the user's input or configuration, with a readable message."""


class DataNotFoundError(NidsError):
    """A dataset file is not where the data directory says it should be."""


class ChecksumError(NidsError):
    """A file's SHA-256 does not match the published one."""


class BadInputError(NidsError):
    """A file that cannot be read as a flow table (empty, not a CSV, wrong shape)."""


class SchemaError(NidsError):
    """A flow table lacks columns a detector or dataset needs."""


class UnknownNameError(NidsError, KeyError):
    """An unknown model, dataset, protocol or task name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def unknown_name(kind: str, name: str, known: list[str] | tuple[str, ...]) -> UnknownNameError:
    """Build the error for an unknown registry name, listing the known ones."""
    return UnknownNameError(f"unknown {kind} {name!r}; expected one of: {', '.join(sorted(known))}")
