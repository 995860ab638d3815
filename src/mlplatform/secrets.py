"""Secrets come from an environment variable or AWS Secrets Manager, never from a profile.

A profile names where a secret lives (`token_env`, `token_secret`, `bind_password_env`, ...);
this module reads it. Nothing here logs or prints a secret's value.
"""

from __future__ import annotations

import os
from typing import Any

from mlplatform.errors import PlatformError


def read_secret(what: str, env_name: str, secret_id: str | None, setting: str) -> str:
    """The secret: from Secrets Manager when `secret_id` is set, else from `env_name`.

    `what` names it for people ("AppsFlyer token"); `setting` is the profile key that would
    name a Secrets Manager secret instead (`appsflyer.token_secret`).
    """
    if secret_id:
        import boto3

        try:
            value: Any = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
        except Exception as exc:  # botocore raises many types; all mean "cannot read it"
            raise PlatformError(
                f"cannot read the {what} secret '{secret_id}' ({type(exc).__name__})",
                "check the secret name, AWS credentials and AWS_ENDPOINT_URL",
            ) from None
        return str(value["SecretString"]).strip()
    secret = os.environ.get(env_name, "").strip()
    if not secret:
        raise PlatformError(
            f"no {what}: {env_name} is not set",
            f"export {env_name}=<{what}>, or set {setting} in the profile",
        )
    return secret
