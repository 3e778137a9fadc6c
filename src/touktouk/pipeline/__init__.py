"""The episode pipeline as plain functions: no Prefect (importing it never imports prefect)."""
