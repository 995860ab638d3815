"""Directory: the service account binds, the CA certificate is usable, the platform groups exist.

The bind and the group lookups go through the user manager's own LDAP client, so the doctor
sees exactly what `mlplatform users` would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlplatform.doctor.base import Check, Finding, Severity
from mlplatform.errors import PlatformError
from mlplatform.settings import Settings

CA_WARN_DAYS = 30


def ca_problems(path: str, now: datetime | None = None) -> tuple[list[str], list[str]]:
    """(problems, notes) about the PEM CA bundle at `path`: missing, unparsable, expired; a
    certificate expiring within CA_WARN_DAYS is a note, not a problem."""
    from cryptography import x509

    file = Path(path).expanduser()
    if not file.is_file():
        return [f"CA certificate file {file} does not exist"], []
    try:
        certificates = x509.load_pem_x509_certificates(file.read_bytes())
    except ValueError as exc:
        return [f"CA certificate file {file} is not PEM certificates ({exc})"], []
    now = now or datetime.now(UTC)
    problems, notes = [], []
    for cert in certificates:
        subject = cert.subject.rfc4514_string()
        expires = cert.not_valid_after_utc
        if expires <= now:
            problems.append(f"CA certificate {subject} expired on {expires:%Y-%m-%d}")
        elif cert.not_valid_before_utc > now:
            problems.append(
                f"CA certificate {subject} is not valid before {cert.not_valid_before_utc:%Y-%m-%d}"
            )
        elif expires - now < timedelta(days=CA_WARN_DAYS):
            notes.append(f"warning: CA certificate {subject} expires on {expires:%Y-%m-%d}")
        else:
            notes.append(f"CA certificate {subject} valid until {expires:%Y-%m-%d}")
    return problems, notes


def _run(settings: Settings) -> Finding:
    ldap = settings.ldap
    if not ldap.url:
        return Finding.not_configured("no directory: ldap.url is not set")
    details: list[str] = []
    if ldap.url.lower().startswith("ldaps://"):
        if not ldap.ca_cert_file:
            details.append("ldaps without ldap.ca_cert_file: the system CA store is used")
        else:
            problems, notes = ca_problems(ldap.ca_cert_file)
            details += notes
            if problems:
                return Finding.failed(
                    "; ".join(problems),
                    *details,
                    action="install the directory's current CA certificate and point "
                    "ldap.ca_cert_file at it",
                )
    # Imported here: ldap3 loads only when this check runs.
    from mlplatform.users.directory.ldap import LdapDirectory

    directory = LdapDirectory.from_settings(settings)
    groups = [*settings.users.groups, settings.users.admin_group]
    try:
        missing = [group for group in groups if not directory.group_exists(group)]
    except PlatformError as exc:
        return Finding.failed(exc.headline, *details, action=exc.hint or None)
    who = ldap.bind_dn or "anonymous"
    details.append(f"bound to {ldap.url} as {who}")
    details += [f"group {g}: {'missing' if g in missing else 'present'}" for g in groups]
    if missing:
        return Finding.failed(
            f"platform group(s) missing under {ldap.groups_rdn},{ldap.base_dn}: "
            + ", ".join(missing),
            *details,
            action=f"create them under {ldap.groups_rdn},{ldap.base_dn} (FreeIPA: ipa group-add)",
        )
    return Finding.passed(f"bound to {ldap.url} as {who}; platform groups present", *details)


CHECK = Check(
    id="directory",
    title="Directory (LDAP)",
    checks="The service account binds to ldap.url, the ldaps CA certificate is present and "
    "not expired, and users.groups and users.admin_group exist.",
    action="Fix the bind password or the CA file the finding names, or create the missing "
    "groups; users cannot log in to the hub while the directory fails.",
    severity=Severity.CRITICAL,
    time_to_resolve="30 minutes",
    run=_run,
)
