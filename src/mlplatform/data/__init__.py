"""Data: sources (local, glob, s3://), schema validation with quarantine, AppsFlyer formats."""
