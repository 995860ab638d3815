"""Provisioners for what each user owns: the EFS home, the Metaflow profile, S3 and IAM.

Each one implements `mlplatform.users.plan.Provisioner`: planning reads current state and
proposes only what is missing or wrong; the actions' `run` closures make the changes.
"""
