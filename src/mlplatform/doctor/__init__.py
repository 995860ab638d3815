"""`mlplatform doctor`: an executable runbook. Each check says what is wrong, why, and what to do.

`base` defines a check and its finding, `registry` lists the checks by dotted path (imported only
when run), `runner` runs them and `checks/` holds one module per check, named by its id.
"""
