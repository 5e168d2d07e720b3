"""App glue between the engine (churn_core) and the pages: i18n, session state, shared widgets."""
