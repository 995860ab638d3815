"""The user's JupyterHub account, through the hub's REST API (`/hub/api`).

Onboarding creates the hub user so admins see them before first login; offboarding stops
their server and removes the hub user. Neither touches files: notebooks live on the EFS home.
The token comes from the environment or Secrets Manager and only ever travels in a header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from mlplatform.errors import PlatformError
from mlplatform.users.model import DirectoryUser, UserSpec
from mlplatform.users.plan import Action


class HubApi:
    """A thin client for the few hub routes the user manager needs."""

    def __init__(self, api_url: str, token: str, transport: httpx.BaseTransport | None = None):
        self.api_url = api_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.api_url,
            headers={"Authorization": f"token {token}"},
            timeout=httpx.Timeout(10.0, connect=3.0),
            transport=transport,
        )

    def _call(self, method: str, path: str, ok: tuple[int, ...]) -> httpx.Response:
        try:
            response = self._client.request(method, path)
        except httpx.HTTPError as exc:
            raise PlatformError(
                f"cannot reach JupyterHub at {self.api_url}: {type(exc).__name__}",
                "check jupyterhub.api_url and that the hub is running",
            ) from None
        if response.status_code not in ok:
            hint = (
                "check the token in jupyterhub.token_env: it needs the user-manager role"
                if response.status_code in (401, 403)
                else "see the hub's log"
            )
            raise PlatformError(f"JupyterHub {method} {path} answered {response.status_code}", hint)
        return response

    def get_user(self, username: str) -> dict[str, Any] | None:
        response = self._call("GET", f"/users/{username}", ok=(200, 404))
        return None if response.status_code == 404 else dict(response.json())

    def create_user(self, username: str) -> None:
        self._call("POST", f"/users/{username}", ok=(201, 409))

    def stop_server(self, username: str) -> None:
        # 202: stopping in the background; the DELETE of the user below waits for nothing.
        self._call("DELETE", f"/users/{username}/server", ok=(202, 204, 400))

    def delete_user(self, username: str) -> None:
        self._call("DELETE", f"/users/{username}", ok=(204, 404))


class HubAccountProvisioner:
    component = "jupyterhub"

    def __init__(self, api: HubApi) -> None:
        self.api = api

    def plan_onboard(self, spec: UserSpec, user: DirectoryUser) -> list[Action]:
        if self.api.get_user(spec.username) is not None:
            return []
        return [self._action("create", spec.username, "hub user", self.api.create_user)]

    def plan_stop(self, user: DirectoryUser) -> list[Action]:
        """Stop a running server (disable and offboard both start here)."""
        found = self.api.get_user(user.username)
        if found is None or not (found.get("server") or any(found.get("servers", {}).values())):
            return []
        return [
            self._action("remove", user.username, "stop the running server", self.api.stop_server)
        ]

    def plan_offboard(self, user: DirectoryUser) -> list[Action]:
        if self.api.get_user(user.username) is None:
            return []
        actions = self.plan_stop(user)
        actions.append(
            self._action("remove", user.username, "hub user; files stay", self.api.delete_user)
        )
        return actions

    def _action(self, verb: Any, username: str, detail: str, call: Callable[[str], None]) -> Action:
        return Action(self.component, verb, username, detail, run=lambda: call(username))
