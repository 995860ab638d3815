"""JupyterHub: the hub API answers, the token is accepted, the idle culler is registered, and the
proxy in front of the hub routes to it.

Routes from JupyterHub's REST API: `GET /hub/api/` (version, no token), `GET /hub/api/services`
(needs the `list:services` scope), and `GET /hub/health` (no token) asked through the proxy.
"""

from __future__ import annotations

import httpx

from mlplatform.doctor.base import Check, Finding, Severity
from mlplatform.errors import PlatformError
from mlplatform.secrets import read_secret
from mlplatform.settings import Settings

# The name the platform's hub configurer gives the culler (mlplatform.hub.configurer).
CULLER_SERVICE = "idle-culler"
TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def _get(client: httpx.Client, url: str, what: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        return client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise PlatformError(
            f"{what} at {url} is unreachable ({type(exc).__name__})",
            "start it (systemctl start jupyterhub) and check the URL in the settings",
        ) from None


def _version(client: httpx.Client, api: str) -> str:
    answer = _get(client, api + "/", "the hub API")
    try:
        version = answer.json().get("version") if answer.status_code == 200 else None
    except ValueError:
        version = None
    if not version:
        raise PlatformError(
            f"the hub API at {api}/ answered HTTP {answer.status_code} without a version",
            "check jupyterhub.api_url (it ends in /hub/api) and the hub's log",
        )
    return str(version)


def _culler_problem(
    client: httpx.Client, api: str, token: str, where: str
) -> tuple[str, str, list[str]]:
    """(problem, action, services): problem and action empty when the culler is registered."""
    answer = _get(client, api + "/services", "the hub API", token)
    if answer.status_code == 401:
        action = f"issue a new token for the user-manager service and store it in {where}"
        return "the hub rejected the API token (HTTP 401)", action, []
    if answer.status_code == 403:
        action = "give the token's role the list:services scope"
        return "the API token may not list services (HTTP 403)", action, []
    if answer.status_code != 200:
        return f"GET {api}/services answered HTTP {answer.status_code}", "see the hub's log", []
    names = sorted(answer.json())
    if CULLER_SERVICE not in names:
        problem = f"the idle culler service '{CULLER_SERVICE}' is not registered"
        action = (
            "deploy the hub with the platform configurer (jupyterhub_config.py), which "
            "registers the culler, and restart the hub"
        )
        return problem, action, names
    return "", "", names


def _run(settings: Settings) -> Finding:
    hub = settings.jupyterhub
    if not hub.api_url:
        return Finding.not_configured("no hub: jupyterhub.api_url is not set")
    api = hub.api_url.rstrip("/")
    problems: list[str] = []
    actions: list[str] = []
    with httpx.Client(timeout=TIMEOUT) as client:
        details: list[str] = []
        try:
            details.append(f"hub API {api}: JupyterHub {_version(client, api)}")
            where = hub.token_secret or hub.token_env
            setting = "jupyterhub.token_secret"
            token = read_secret("JupyterHub API token", hub.token_env, hub.token_secret, setting)
            problem, action, services = _culler_problem(client, api, token, where)
        except PlatformError as exc:
            return Finding.failed(exc.headline, *details, action=exc.hint or None)
        if problem:
            problems.append(problem)
            actions.append(action)
        if services:
            details.append("services: " + ", ".join(services))
        if hub.public_url:
            health = hub.public_url.rstrip("/") + "/hub/health"
            try:
                status = _get(client, health, "the proxy").status_code
            except PlatformError as exc:
                problems.append(exc.headline)
            else:
                details.append(f"proxy {health}: HTTP {status}")
                if status != 200:
                    problems.append(f"the proxy answered HTTP {status} for {health}")
            if len(problems) > len(actions):
                actions.append(
                    "restart the hub (it restarts configurable-http-proxy) and check "
                    "jupyterhub.public_url"
                )
        else:
            details.append("proxy not checked: jupyterhub.public_url is not set")
    if problems:
        return Finding.failed("; ".join(problems), *details, action="; ".join(actions))
    return Finding.passed(f"hub API and proxy up, {CULLER_SERVICE} registered", *details)


CHECK = Check(
    id="jupyterhub",
    title="JupyterHub",
    checks="The hub API answers with its version, the token lists the services and the idle "
    "culler is among them, and /hub/health answers through the proxy at jupyterhub.public_url.",
    action="Restart the hub (systemctl restart jupyterhub) and read its log; a missing culler "
    "means the hub was not configured by the platform configurer.",
    severity=Severity.CRITICAL,
    time_to_resolve="20 minutes",
    run=_run,
)
