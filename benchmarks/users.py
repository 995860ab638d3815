"""Benchmark: onboarding users with `UserManager` vs a hand-rolled onboarding script.

Both run against the same real slapd (FreeIPA layout) and moto server on loopback, and do the
same work per user: the directory entry, membership of `ml-platform-users`, the home folder
(owner, mode 0700), the Metaflow profile, the S3 prefix, and an IAM role with its policy.

- The platform: `UserManager.plan_onboard` + `apply`, in process: it reads the current state
  of every component first (that is what makes a rerun safe and a partial failure repairable)
  and writes an audit record per change. Also measured: `mlplatform users add` as a command
  (Python start-up included) and a 30-user `users sync` from a roster.
- The alternative: what a DevOps engineer scripts without a platform: `ldapadd` and
  `ldapmodify` (OpenLDAP's tools) for the entry and the group, `mkdir`/`chown`/`chmod`, a JSON
  file, and one boto3 call per S3/IAM object. It checks nothing first, so it cannot be rerun.
- The old manual process took 5 minutes per user (the design brief); the goals are <= 2 s
  per user and <= 15 s for a 30-user roster.

    python benchmarks/users.py [--users 10] [--roster 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.servers.slapd import LdapServer, start_slapd  # noqa: E402

MANUAL_SECONDS = 300.0
AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import urllib.request

    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto did not start")


def site_env(server: LdapServer, port: int, work: Path, bucket: str) -> dict[str, str]:
    return AWS | {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "MLPLATFORM_HOME": str(work / "home"),
        "MLPLATFORM_LDAP__URL": server.url,
        "MLPLATFORM_LDAP__BASE_DN": server.base_dn,
        "MLPLATFORM_LDAP__BIND_DN": server.manager_dn,
        "MLPLATFORM_LDAP_BIND_PASSWORD": server.manager_password,
        "MLPLATFORM_EFS__HOME_ROOT": str(work / "data"),
        "MLPLATFORM_USERS__USERS_BUCKET": bucket,
        "MLPLATFORM_METAFLOW__DATASTORE_ROOT": f"s3://{bucket}/metaflow",
        "MLPLATFORM_METAFLOW__BATCH_JOB_QUEUE": "mlplatform-cpu",
    }


def platform_per_user(names: list[str]) -> list[float]:
    from mlplatform.settings import get_settings
    from mlplatform.users.manager import UserManager
    from mlplatform.users.model import UserSpec

    get_settings.cache_clear()
    manager = UserManager.from_settings(get_settings())
    times = []
    for name in names:
        spec = UserSpec(username=name, full_name="Bench User", email=f"{name}@example.com")
        started = time.perf_counter()
        outcome = manager.apply(manager.plan_onboard(spec))
        times.append(time.perf_counter() - started)
        if outcome.failed:
            raise SystemExit(f"onboarding {name} failed: {outcome.failed}")
    return times


def script_per_user(names: list[str], server: LdapServer, env: dict[str, str]) -> list[float]:
    """The hand-rolled script: no reads, no audit, one tool or API call per object."""
    s3, iam = boto3.client("s3"), boto3.client("iam")
    bucket, root = env["MLPLATFORM_USERS__USERS_BUCKET"], Path(env["MLPLATFORM_EFS__HOME_ROOT"])
    users_dn = f"cn=users,cn=accounts,{server.base_dn}"
    group_dn = f"cn=script-users,cn=groups,cn=accounts,{server.base_dn}"
    bind = ["-x", "-H", server.url, "-D", server.manager_dn, "-w", server.manager_password]
    group = (
        f"dn: {group_dn}\nobjectClass: groupOfNames\nobjectClass: posixGroup\n"
        "cn: script-users\ngidNumber: 30999\nmember: \n"
    )
    subprocess.run(["ldapadd", *bind], input=group, text=True, check=True, capture_output=True)
    times = []
    for number, name in enumerate(names, start=31000):
        started = time.perf_counter()
        entry = (
            f"dn: uid={name},{users_dn}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n"
            f"uid: {name}\ncn: Bench User\nsn: User\nmail: {name}@example.com\n"
            f"uidNumber: {number}\ngidNumber: {number}\nhomeDirectory: {root / name}\n"
        )
        subprocess.run(["ldapadd", *bind], input=entry, text=True, check=True, capture_output=True)
        change = f"dn: {group_dn}\nchangetype: modify\nadd: member\nmember: uid={name},{users_dn}\n"
        subprocess.run(
            ["ldapmodify", *bind], input=change, text=True, check=True, capture_output=True
        )
        home = root / name
        (home / ".metaflowconfig").mkdir(parents=True)
        (home / ".metaflowconfig" / "config.json").write_text(json.dumps({"METAFLOW_USER": name}))
        for path in (home, home / ".metaflowconfig", home / ".metaflowconfig" / "config.json"):
            os.chown(path, number, number)
        home.chmod(0o700)
        s3.put_object(Bucket=bucket, Key=f"users/{name}/")
        role = f"script-user-{name}"
        iam.create_role(RoleName=role, Path="/script/", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}))  # fmt: skip
        policy = iam.create_policy(PolicyName=role, PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
             "Resource": f"arn:aws:s3:::{bucket}/users/{name}/*"}]}))  # fmt: skip
        iam.attach_role_policy(RoleName=role, PolicyArn=policy["Policy"]["Arn"])
        times.append(time.perf_counter() - started)
    return times


def cli_add(name: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mlplatform.cli.main", "users", "add", name, "--name", "Bench User",
         "--email", f"{name}@example.com"],
        env=dict(os.environ) | env, check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - started


def roster_sync(count: int, work: Path, env: dict[str, str]) -> float:
    roster = work / "roster.yaml"
    lines = ["users:"] + [
        f"  - {{username: team{i:02d}, full_name: Team Member {i}, email: t{i}@example.com, "
        f"team: growth}}"
        for i in range(count)
    ]
    roster.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mlplatform.cli.main", "users", "sync", str(roster), "--yes"],
        env=dict(os.environ) | env, check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10, help="users onboarded one by one")
    parser.add_argument("--roster", type=int, default=30, help="users in the roster sync")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="users-bench-") as folder:
        work = Path(folder)
        (work / "data").mkdir()
        slapd, server = start_slapd(work / "slapd")
        port = free_port()
        moto = start_moto(port)
        try:
            env = site_env(server, port, work, "bench-users")
            os.environ.update(env)
            boto3.client("s3").create_bucket(Bucket="bench-users")
            platform = platform_per_user([f"plat{i:02d}" for i in range(args.users)])
            script = script_per_user([f"scr{i:02d}" for i in range(args.users)], server, env)
            cli = [cli_add(f"cli{i:02d}", env) for i in range(3)]
            sync = roster_sync(args.roster, work, env)
        finally:
            slapd.terminate()
            moto.terminate()
    p50_platform, p50_script = statistics.median(platform), statistics.median(script)
    print(f"onboarding, median of {args.users} users (slapd + moto on loopback):")
    print(f"  UserManager in process   {p50_platform:6.3f} s/user (max {max(platform):.3f})")
    print(f"  hand-rolled script       {p50_script:6.3f} s/user (max {max(script):.3f})")
    print(f"  ratio platform/script    {p50_platform / p50_script:6.2f}x")
    print(f"  `mlplatform users add`   {statistics.median(cli):6.3f} s/user (whole command)")
    print(
        f"  vs the 5-minute manual process: {MANUAL_SECONDS / statistics.median(cli):.0f}x faster"
    )
    print(f"roster sync of {args.roster} users: {sync:.2f} s (goal <= 15 s)")


if __name__ == "__main__":
    main()
