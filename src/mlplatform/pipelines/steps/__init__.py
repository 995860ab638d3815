"""Step logic as plain functions: the flows call them, tests call them without Metaflow."""
