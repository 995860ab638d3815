"""OpenLDAP on ldaps:// with the stack's CA, laid out like FreeIPA, seeded by the user manager.

A cn=config LDIF loaded with `slapadd -n0`, base entries with `slapadd -n1` (first `up` only),
then `slapd -d 0` in the foreground of its own session so the stack owns its PID. Layout and
schema as production: users under `cn=users,cn=accounts`, groups under `cn=groups,cn=accounts`
(`groupOfNames` + `posixGroup`, so `posixGroup` is AUXILIARY as in rfc2307bis), `nsAccountLock`
for disabled accounts, service accounts under `cn=sysaccounts,cn=etc` (the user manager writes,
the hub reads). The platform groups and the demo user are created with the platform's own
`LdapDirectory`, over ldaps, as the user manager's account.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

from mlplatform.errors import PlatformError
from mlplatform.stack.process import (
    INSTALL_HINT,
    launch,
    port_answers,
    secret_file,
)
from mlplatform.stack.tls import TlsFiles

BASE_DN = "dc=dataplatform,dc=local"
ADMIN_DN = f"cn=admin,{BASE_DN}"
MANAGER_DN = f"uid=mlplatform-manager,cn=sysaccounts,cn=etc,{BASE_DN}"
HUB_DN = f"uid=jupyterhub,cn=sysaccounts,cn=etc,{BASE_DN}"
GROUPS_BASE = f"cn=groups,cn=accounts,{BASE_DN}"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
SBIN = "/usr/local/sbin:/usr/sbin:/sbin"
DEMO_USER = "demo"


def platform_schema() -> str:
    """What the platform needs on a plain OpenLDAP server (nsAccountLock, the TOTP attribute).

    One file, shipped in the package; deploy/ldap/mlplatform-schema.ldif links to it."""
    text = (resources.files("mlplatform.stack") / "mlplatform-schema.ldif").read_text()
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")) + "\n"


def binary(name: str) -> str | None:
    """`name` on PATH: the stack runs what the user's PATH chooses, as a shell would."""
    return shutil.which(name)


def missing_binaries() -> list[str]:
    return [name for name in ("slapd", "slapadd", "slappasswd") if binary(name) is None]


def off_path_folder() -> str | None:
    """An sbin folder holding slapd that PATH leaves out (Debian's PATH for non-root users)."""
    found = shutil.which("slapd", path=SBIN)
    return str(Path(found).parent) if found else None


def passwords(secrets_dir: Path) -> dict[str, str]:
    """The directory's service passwords, kept (mode 0600) across restarts."""
    return {
        name: secret_file(secrets_dir / f"ldap-{name}-password")
        for name in ("admin", "manager", "hub")
    }


def hash_password(password: str) -> str:
    command = [binary("slappasswd") or "slappasswd", "-s", password]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def _schema_ldif(name: str) -> str:
    text = (SCHEMA_DIR / f"{name}.ldif").read_text()
    if name == "nis":  # rfc2307bis: a group can be groupOfNames and posixGroup at once
        text = text.replace(
            "SUP top STRUCTURAL MUST ( cn $ gidNumber )",
            "SUP top AUXILIARY MUST ( cn $ gidNumber )",
        )
    return text


def config_ldif(folder: Path, admin_hash: str, tls: TlsFiles | None) -> str:
    """cn=config for one server; with `tls`, slapd can also serve ldaps:// with those files."""
    schemas = "\n".join(_schema_ldif(n) for n in ("core", "cosine", "nis", "inetorgperson"))
    tls_lines = (
        f"olcTLSCACertificateFile: {tls.ca_cert}\n"
        f"olcTLSCertificateFile: {tls.cert}\n"
        f"olcTLSCertificateKeyFile: {tls.key}\n"
        if tls
        else ""
    )
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {folder}/slapd.pid
{tls_lines}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {MODULE_DIR}
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: refint

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}
{platform_schema()}
dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {BASE_DN}
olcRootDN: {ADMIN_DN}
olcRootPW: {admin_hash}
olcDbDirectory: {folder}/data
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: member eq
olcAccess: {{0}}to attrs=userPassword by dn.exact="{MANAGER_DN}" write
  by self write by anonymous auth by * none
olcAccess: {{1}}to attrs=mlplatformTotpSecret by dn.exact="{MANAGER_DN}" write
  by dn.exact="{HUB_DN}" read by * none
olcAccess: {{2}}to * by dn.exact="{MANAGER_DN}" write by users read by * none

dn: olcOverlay={{0}}memberof,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {{0}}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames

dn: olcOverlay={{1}}refint,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {{1}}refint
olcRefintAttribute: member
"""


def _base_ldif(manager_hash: str, hub_hash: str) -> str:
    entries = [
        (BASE_DN, "objectClass: dcObject\nobjectClass: organization\no: dataplatform\n"
                  "dc: dataplatform"),
        (f"cn=accounts,{BASE_DN}", "objectClass: organizationalRole\ncn: accounts"),
        (f"cn=users,cn=accounts,{BASE_DN}", "objectClass: organizationalRole\ncn: users"),
        (GROUPS_BASE, "objectClass: organizationalRole\ncn: groups"),
        (f"cn=etc,{BASE_DN}", "objectClass: organizationalRole\ncn: etc"),
        (f"cn=sysaccounts,cn=etc,{BASE_DN}", "objectClass: organizationalRole\ncn: sysaccounts"),
        (MANAGER_DN, "objectClass: account\nobjectClass: simpleSecurityObject\n"
                     f"uid: mlplatform-manager\nuserPassword: {manager_hash}"),
        (HUB_DN, "objectClass: account\nobjectClass: simpleSecurityObject\n"
                 f"uid: jupyterhub\nuserPassword: {hub_hash}"),
    ]  # fmt: skip
    return "\n\n".join(f"dn: {dn}\n{body}" for dn, body in entries) + "\n"


def _initialise(folder: Path, secrets: dict[str, str], tls: TlsFiles, log: Path) -> None:
    """Build the directory in `folder` (first `up` only)."""
    (folder / "slapd.d").mkdir(parents=True)
    (folder / "data").mkdir(exist_ok=True)
    config = folder / "config.ldif"
    config.write_text(config_ldif(folder, hash_password(secrets["admin"]), tls))
    base = folder / "base.ldif"
    base.write_text(_base_ldif(hash_password(secrets["manager"]), hash_password(secrets["hub"])))
    slapadd = binary("slapadd") or "slapadd"
    for args in (["-n0", "-l", str(config)], ["-n1", "-l", str(base)]):
        done = subprocess.run(
            [slapadd, "-F", str(folder / "slapd.d"), *args], capture_output=True, text=True
        )
        with log.open("a") as out:
            out.write(done.stdout + done.stderr)
        if done.returncode != 0:
            raise PlatformError(f"ldap: slapadd {args[0]} failed", f"see its log: {log}")


def start(
    folder: Path, port: int, tls: TlsFiles, secrets: dict[str, str], timeout: float
) -> tuple[int, str]:
    """Start slapd on ldaps://127.0.0.1:`port`; the PID and the URL."""
    if missing := missing_binaries():
        raise PlatformError(f"OpenLDAP is not installed ({', '.join(missing)})", INSTALL_HINT)
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "slapd.log"
    if not (folder / "slapd.d").is_dir():
        _initialise(folder, secrets, tls, log)
    url = f"ldaps://127.0.0.1:{port}"
    command = [
        binary("slapd") or "slapd",
        "-d",
        "0",
        "-F",
        str(folder / "slapd.d"),
        "-h",
        url + "/",
    ]
    return launch(command, "ldap (slapd)", log, lambda: port_answers(port), timeout), url


def seed(url: str, ca_cert: Path, manager_password: str, home_root: str) -> str | None:
    """The platform groups and the demo user; the demo password when the user is new."""
    import secrets as random

    from mlplatform.settings import LdapSettings
    from mlplatform.users.directory.ldap import LdapDirectory
    from mlplatform.users.model import UserSpec

    settings = LdapSettings(url=url, base_dn=BASE_DN, bind_dn=MANAGER_DN, ca_cert_file=str(ca_cert))
    directory = LdapDirectory(settings, manager_password, home_root)
    for gid, group in ((10001, "ml-platform-users"), (10002, "ml-platform-admins")):
        if not directory.group_exists(group):
            directory.create_group(group, gid)
    if directory.get_user(DEMO_USER) is not None:
        return None
    spec = UserSpec(
        username=DEMO_USER, full_name="Demo User", email="demo@dataplatform.local", team="demo"
    )
    directory.create_user(spec, 10000)
    password = random.token_urlsafe(12)
    directory.set_password(DEMO_USER, password)
    directory.add_member("ml-platform-users", DEMO_USER)
    return password
