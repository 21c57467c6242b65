"""Exit statuses shared by the commands: 0 nothing found, 1 findings remain (or a gate failed),
2 usage, configuration or internal error."""

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
