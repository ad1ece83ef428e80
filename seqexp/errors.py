"""The one exception type users see: a problem with their input, and its fix."""


class SeqexpError(Exception):
    """A user-facing error, printed as one line by ``seqexp`` (exit code 2).

    The message names the problem and, where there is one, the fix. A bug in
    seqexp itself is any other exception and keeps its traceback.
    """
