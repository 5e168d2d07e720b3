"""One error type for the engine: a code the app can translate plus an English message."""


class ChurnCoreError(ValueError):
    """An input or state problem the user can fix.

    Parameters
    ----------
    code : str
        Stable identifier, e.g. ``"ingest.empty_file"``; the app shows ``t("error." + code)``.
    message : str
        English message that says what went wrong and what to do.
    **params
        Values for the translated message (``{rows}``, ``{column}``...).
    """

    def __init__(self, code, message, **params):
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params

    def __str__(self):
        return self.message
