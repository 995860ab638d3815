"""`mlplatform stack`: the whole platform on one machine, on loopback.

One module per service (postgres, s3, ldap, jupyterhub, metadata), `tls` for the CA the stack
generates, `process` for starting and stopping what the stack owns (by PID), and `stack` for
the orchestration: the state folder, `up`, `down`, `status` and the profiles `up` writes.
"""
