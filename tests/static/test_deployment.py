"""Static checks of the production deployment files: docker-compose.yml, the Dockerfile and
the kustomize tree under deploy/. No network, no docker, no cluster: the files are parsed
with PyYAML and compared with the code they configure (settings, topics, commands)."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from shared.contracts.topics import SERVICES, all_topics
from shared.settings import SERVICE_PORTS, Settings
from suxing_cli.main import app
from tests.support.availability import unavailable

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "base"
OVERLAYS = sorted(p for p in (DEPLOY / "overlays").iterdir() if p.is_dir())

SETTINGS_VARS = {f"SUXING_{name.upper()}" for name in Settings.model_fields}
SUXING_VAR = re.compile(r"\bSUXING_[A-Z0-9_]+")
READY, LIVE = "/health/ready", "/health/live"
DEFAULT_PARTITIONS = Settings.model_fields["topic_partitions"].default


def yaml_files() -> list[Path]:
    return [COMPOSE, *sorted(DEPLOY.rglob("*.yaml")), *sorted(DEPLOY.rglob("*.yml"))]


def documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc is not None]


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def interpolate(value: str) -> str:
    """Compose's `${VAR:-default}` / `${VAR:?message}` with stand-ins: defaults are kept and
    required variables get a value that passes the production checks."""

    def sub(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if op == ":-":
            return rest
        return "x" * 40 if "SECRET" in name else "stand-in"

    return re.sub(r"\$\{([A-Z0-9_]+)(:[-?])?([^}]*)\}", sub, value)


# ---- kustomize: the base, and each overlay rendered by applying its `replace` patches ----


def kustomization(folder: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((folder / "kustomization.yaml").read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def base_resources() -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for name in kustomization(BASE)["resources"]:
        resources.extend(documents(BASE / name))
    return resources


def by_kind(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["kind"] == kind]


def pointer(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for raw in path.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(token) if token.isdigit() else token)
    return parts


def resolve(document: Any, path: str) -> tuple[Any, str | int]:
    """The parent container and last key of a JSON pointer; KeyError/IndexError if absent."""
    parts = pointer(path)
    node = document
    for part in parts[:-1]:
        node = node[part]
    last = parts[-1]
    node[last]  # the field must already exist: a `replace` only changes values
    return node, last


def targets(resources: list[dict[str, Any]], target: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r
        for r in resources
        if r["kind"] == target["kind"]
        and ("name" not in target or r["metadata"]["name"] == target["name"])
    ]


def patch_ops(patch: dict[str, Any]) -> list[dict[str, Any]]:
    ops = yaml.safe_load(patch["patch"])
    assert isinstance(ops, list)
    return ops


def render(overlay: Path) -> list[dict[str, Any]]:
    resources = copy.deepcopy(base_resources())
    spec = kustomization(overlay)
    for patch in spec.get("patches", []):
        for resource in targets(resources, patch["target"]):
            for op in patch_ops(patch):
                parent, key = resolve(resource, op["path"])
                parent[key] = copy.deepcopy(op["value"])
    for image in spec.get("images", []):
        for resource in resources:
            for container in pod_containers(resource):
                if container["image"] == image["name"]:
                    container["image"] = f"{image['newName']}:{image['newTag']}"
    return resources


def pod_spec(resource: dict[str, Any]) -> dict[str, Any] | None:
    if resource["kind"] in ("Deployment", "Job"):
        spec: dict[str, Any] = resource["spec"]["template"]["spec"]
        return spec
    return None


def pod_containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(resource)
    if spec is None:
        return []
    return [*spec.get("initContainers", []), *spec["containers"]]


def configmap(resources: list[dict[str, Any]]) -> dict[str, str]:
    (config,) = [
        r for r in by_kind(resources, "ConfigMap") if r["metadata"]["name"] == "suxing-config"
    ]
    data: dict[str, str] = config["data"]
    return data


# ---- every file parses ----


def test_all_yaml_parses() -> None:
    files = yaml_files()
    assert len(files) >= 9
    for path in files:
        docs = documents(path)
        assert docs, f"{path} is empty"
        assert all(isinstance(doc, dict) for doc in docs), path
    for resource in base_resources():
        assert {"apiVersion", "kind", "metadata"} <= resource.keys(), resource


# ---- environment variables are real settings ----


def test_every_suxing_variable_is_a_setting() -> None:
    texts = {path: path.read_text("utf-8") for path in [*yaml_files(), DOCKERFILE]}
    seen: set[str] = set()
    for path, text in texts.items():
        names = set(SUXING_VAR.findall(text))
        unknown = names - SETTINGS_VARS
        assert not unknown, f"{path.relative_to(ROOT)} names {sorted(unknown)}: not settings"
        seen |= names
    # The scan found the settings that matter (a regex that matched nothing would pass).
    assert {
        "SUXING_PROFILE",
        "SUXING_DATABASE_URL",
        "SUXING_BROKER_URL",
        "SUXING_JWT_SECRET",
        "SUXING_TOPIC_PARTITIONS",
        "SUXING_HOST",
        "SUXING_PORT",
    } <= seen


def test_compose_environments_build_valid_production_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = compose()["services"]
    for name in SERVICES:
        env = {k: interpolate(str(v)) for k, v in services[name]["environment"].items()}
        assert env["SUXING_PROFILE"] == "production"
        assert env["SUXING_HOST"] == "0.0.0.0"
        assert env["SUXING_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["SUXING_DATABASE_URL"].endswith(f"/{name}")
        assert env["SUXING_BROKER_URL"] == "kafka:9092"
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings(service=name)
        assert settings.resolved_port() == SERVICE_PORTS[name]
        assert settings.topic_partitions == DEFAULT_PARTITIONS
    # The secret has no default: compose stops with a message when it is not set.
    raw = services["pledges"]["environment"]["SUXING_JWT_SECRET"]
    assert re.fullmatch(r"\$\{SUXING_JWT_SECRET:\?[^}]+\}", raw)


def test_k8s_environments_build_valid_production_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for overlay in [BASE, *OVERLAYS]:
        resources = base_resources() if overlay == BASE else render(overlay)
        config = configmap(resources)
        for key, value in config.items():
            monkeypatch.setenv(key, value)
        for deployment in by_kind(resources, "Deployment"):
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            env = {e["name"]: e for e in container["env"]}
            portal = deployment["metadata"]["name"] == "portal"
            # Secrets only by reference: a literal value would be a committed secret. The
            # portal has no database: it is given the services' URLs instead.
            secrets = (
                ("SUXING_JWT_SECRET",) if portal else ("SUXING_DATABASE_URL", "SUXING_JWT_SECRET")
            )
            for secret in secrets:
                assert "value" not in env[secret]
                assert env[secret]["valueFrom"]["secretKeyRef"]["name"]
            monkeypatch.setenv("SUXING_PORT", env["SUXING_PORT"]["value"])
            if portal:
                for name in ("PLEDGES", "REVIEWS", "SCORING"):
                    monkeypatch.setenv(f"SUXING_{name}_URL", env[f"SUXING_{name}_URL"]["value"])
            else:
                monkeypatch.setenv("SUXING_DATABASE_URL", "postgresql+asyncpg://u:p@db/x")
            monkeypatch.setenv("SUXING_JWT_SECRET", "x" * 40)
            settings = Settings(service=deployment["metadata"]["name"])
            assert settings.profile == "production"
            assert settings.host == "0.0.0.0"
    for path in DEPLOY.rglob("*.yaml"):
        assert all(doc.get("kind") != "Secret" for doc in documents(path)), path


# ---- topics ----


def test_kafka_topics_match_the_contracts() -> None:
    resources = base_resources()
    config = configmap(resources)
    partitions = int(config["SUXING_TOPIC_PARTITIONS"])
    assert partitions == DEFAULT_PARTITIONS
    expected = {spec.name: spec for spec in all_topics(partitions)}
    topics = by_kind(resources, "KafkaTopic")
    assert {t["spec"]["topicName"] for t in topics} == set(expected)
    for topic in topics:
        spec = expected[topic["spec"]["topicName"]]
        assert topic["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert topic["metadata"]["name"] == spec.name
        assert topic["metadata"]["labels"]["strimzi.io/cluster"]
        assert topic["spec"]["partitions"] == spec.partitions == partitions
        assert topic["spec"]["config"]["retention.ms"] == -1
        assert str(topic["spec"]["config"]["retention.ms"]) == spec.configs["retention.ms"]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_overlay_topics_agree_with_the_overlay_settings(overlay: Path) -> None:
    resources = render(overlay)
    config = configmap(resources)
    for topic in by_kind(resources, "KafkaTopic"):
        assert topic["spec"]["partitions"] == int(config["SUXING_TOPIC_PARTITIONS"])
        assert topic["spec"]["replicas"] == int(config["SUXING_TOPIC_REPLICATION"])
        assert topic["spec"]["config"]["retention.ms"] == -1


def test_compose_topic_partitions_default_to_the_settings_default() -> None:
    services = compose()["services"]
    for name in ("topics", *SERVICES):
        raw = services[name]["environment"]["SUXING_TOPIC_PARTITIONS"]
        assert int(interpolate(str(raw))) == DEFAULT_PARTITIONS


# ---- commands of the image, compose and Kubernetes exist ----


def all_commands() -> list[list[str]]:
    commands: list[list[str]] = []
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE.read_text("utf-8"), re.MULTILINE)
    assert cmd, "the Dockerfile has an exec-form CMD"
    commands.append(json.loads(cmd.group(1)))
    for service in compose()["services"].values():
        if "command" in service:
            commands.append(list(service["command"]))
    for resource in base_resources():
        for container in pod_containers(resource):
            commands.append(list(container["command"]))
    return commands


def test_every_command_exists() -> None:
    commands = all_commands()
    modules = {c[2] for c in commands if c[:2] == ["python", "-m"]}
    assert modules >= {f"services.{name}" for name in SERVICES}
    assert modules <= {f"services.{name}" for name in (*SERVICES, "portal")}
    for module in modules:
        assert importlib.util.find_spec(f"{module}.__main__") is not None, module
    runner = CliRunner()
    cli = [c for c in commands if c[0] == "suxing"]
    assert {tuple(c[1:3]) for c in cli} >= {("topics", "ensure"), ("migrate", "pledges")}
    for command in cli:
        # --help is eager: the arguments are parsed (an unknown subcommand or option fails)
        # but nothing runs.
        result = runner.invoke(app, [*command[1:], "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output
    for command in commands:
        assert command[0] in ("python", "suxing"), command


def test_dockerfile_is_slim_pinned_and_non_root() -> None:
    text = DOCKERFILE.read_text("utf-8")
    (base,) = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", base), base
    assert "-c constraints.txt" in text
    assert "[dev]" not in text
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert (ROOT / ".dockerignore").exists()


# ---- compose: health, restarts, dependencies, volumes ----


def test_compose_services_are_healthy_and_restart() -> None:
    spec = compose()
    services = spec["services"]
    assert {"kafka", "postgres", "topics", *SERVICES} <= services.keys()
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"].startswith("postgres:")
    for name, service in services.items():
        assert service.get("restart") in ("unless-stopped", "always", "on-failure"), name
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            assert condition["condition"] in (
                "service_healthy",
                "service_completed_successfully",
            ), (name, dependency)
        one_shot = service["restart"] == "on-failure"
        if not one_shot:
            assert "healthcheck" in service, f"{name} has no healthcheck"
    for name in SERVICES:
        service = services[name]
        test = " ".join(service["healthcheck"]["test"])
        port = service["environment"]["SUXING_PORT"]
        assert "curl" not in test and "urllib" in test
        assert f":{port}{READY}" in test
        assert service["command"] == ["python", "-m", f"services.{name}"]
        conditions = {d: c["condition"] for d, c in service["depends_on"].items()}
        assert conditions["topics"] == "service_completed_successfully"
        migrations = [
            d for d in conditions if services[d].get("command", [])[:2] == ["suxing", "migrate"]
        ]
        assert migrations and all(
            conditions[d] == "service_completed_successfully" for d in migrations
        )
    migrated = {
        c["command"][2]
        for c in services.values()
        if c.get("command", [])[:2] == ["suxing", "migrate"]
    }
    assert migrated == set(SERVICES)
    declared = set(spec["volumes"])
    for service in services.values():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            assert source.startswith(".") or source in declared, mount
    init = ROOT / "deploy" / "compose" / "create-databases.sh"
    assert all(name in init.read_text("utf-8") for name in SERVICES)


# ---- Kubernetes: probes, non-root, services, disruption budgets ----


def test_deployments_probe_health_and_run_as_non_root() -> None:
    resources = base_resources()
    deployments = by_kind(resources, "Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {*SERVICES, "portal"}
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        (container,) = pod["containers"]
        assert container["command"] == ["python", "-m", f"services.{name}"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": SERVICE_PORTS[name]}
        assert container["readinessProbe"]["httpGet"] == {"path": READY, "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": LIVE, "port": "http"}
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["resources"]["requests"] and container["resources"]["limits"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        for kind in ("Service", "PodDisruptionBudget"):
            (match,) = [r for r in by_kind(resources, kind) if r["metadata"]["name"] == name]
            found = match["spec"]["selector"]
            assert found.get("matchLabels", found) == selector, (kind, name)
    (job,) = by_kind(resources, "Job")
    assert job["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    migrated = [c["command"] for c in pod_containers(job)]
    assert sorted(migrated) == [["suxing", "migrate", name] for name in sorted(SERVICES)]


# ---- overlays only change values ----

ALLOWED_OVERLAY_KEYS = {"apiVersion", "kind", "resources", "patches", "images"}


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_overlay_only_changes_values(overlay: Path) -> None:
    spec = kustomization(overlay)
    assert spec.keys() <= ALLOWED_OVERLAY_KEYS, spec.keys() - ALLOWED_OVERLAY_KEYS
    assert spec["resources"] == ["../../base"]
    assert [p.name for p in overlay.iterdir()] == ["kustomization.yaml"]
    resources = base_resources()
    for patch in spec["patches"]:
        matched = targets(resources, patch["target"])
        assert matched, f"{overlay.name}: patch target {patch['target']} is not in the base"
        for op in patch_ops(patch):
            assert op["op"] == "replace", op
            for resource in matched:
                resolve(resource, op["path"])
    names = {(r["kind"], r["metadata"]["name"]) for r in resources}
    assert {(r["kind"], r["metadata"]["name"]) for r in render(overlay)} == names
    images = {c["image"] for r in render(overlay) for c in pod_containers(r)}
    assert len(images) == 1 and images != {"suxing"}


def test_consumers_scale_to_the_partition_count() -> None:
    rendered = {overlay.name: render(overlay) for overlay in OVERLAYS}
    assert {"dev", "prod"} <= rendered.keys()
    for name, resources in rendered.items():
        partitions = int(configmap(resources)["SUXING_TOPIC_PARTITIONS"])
        replicas = {
            d["metadata"]["name"]: d["spec"]["replicas"] for d in by_kind(resources, "Deployment")
        }
        # More consumers than partitions in one group would sit idle.
        assert replicas["scoring"] <= partitions and replicas["reviews"] <= partitions, name
        if name == "prod":
            assert replicas["scoring"] == partitions
        if name == "dev":
            assert set(replicas.values()) == {1}


@pytest.mark.parametrize("overlay", [BASE, *OVERLAYS], ids=lambda p: p.name)
def test_kustomize_builds_what_the_test_renders(overlay: Path) -> None:
    """kubectl's kustomize agrees with the rendering the tests above check."""
    if shutil.which("kubectl") is None:
        unavailable("kubectl is not installed (kubectl kustomize checks deploy/)")
    result = subprocess.run(
        ["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    ours = base_resources() if overlay == BASE else render(overlay)

    def key(r: dict[str, Any]) -> tuple[str, str]:
        return (r["kind"], r["metadata"]["name"])

    assert sorted(map(key, built)) == sorted(map(key, ours))
    ours_by_key = {key(r): r for r in ours}
    for resource in built:
        mine = ours_by_key[key(resource)]
        assert resource.get("spec") == mine.get("spec"), key(resource)
        assert resource.get("data") == mine.get("data"), key(resource)


# ---- event signing keys (docs/signing.md) ----


def test_each_service_gets_only_its_own_private_key() -> None:
    resources = base_resources()
    keys_dir = configmap(resources)["SUXING_KEYS_DIR"]
    for deployment in by_kind(resources, "Deployment"):
        name = deployment["metadata"]["name"]
        if name == "portal":
            continue
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["signing-keys"]["mountPath"] == keys_dir
        assert mounts["signing-keys"]["readOnly"] is True
        (volume,) = [v for v in pod["volumes"] if v["name"] == "signing-keys"]
        sources = volume["projected"]["sources"]
        secrets = [s["secret"]["name"] for s in sources if "secret" in s]
        assert secrets == [f"suxing-{name}-signing-key"], name
        assert [s["configMap"]["name"] for s in sources if "configMap" in s] == [
            "suxing-public-keys"
        ]


def test_compose_services_sign_with_keys_made_before_they_start() -> None:
    services = compose()["services"]
    assert services["keys"]["command"][:3] == ["suxing", "keys", "ensure"]
    for name in SERVICES:
        service = services[name]
        assert service["environment"]["SUXING_KEYS_DIR"] == "/var/lib/suxing-keys"
        assert "signing-keys:/var/lib/suxing-keys:ro" in service["volumes"]
        assert service["depends_on"]["keys"]["condition"] == "service_completed_successfully"


# ---- Kafka users and ACLs (Strimzi): a service alone writes its own topic ----


def consumed_topics(service: str) -> set[str]:
    from services.reviews.app import CONSUMES as REVIEWS_READS
    from services.scoring.app import CONSUMES as SCORING_READS

    return set({"pledges": (), "reviews": REVIEWS_READS, "scoring": SCORING_READS}[service])


def acl_grants(user: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """(operation, resource type, name, pattern) of every ACL of a KafkaUser."""
    return {
        (op, acl["resource"]["type"], acl["resource"]["name"], acl["resource"]["patternType"])
        for acl in user["spec"]["authorization"]["acls"]
        for op in acl["operations"]
    }


@pytest.mark.parametrize("overlay", [BASE, *OVERLAYS], ids=lambda p: p.name)
def test_each_service_reaches_kafka_as_its_own_user_over_tls(overlay: Path) -> None:
    resources = base_resources() if overlay == BASE else render(overlay)
    config = configmap(resources)
    assert config["SUXING_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["SUXING_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    users = {u["metadata"]["name"]: u for u in by_kind(resources, "KafkaUser")}
    assert set(users) == {f"suxing-{s}" for s in SERVICES} | {"suxing-operator"}
    deployments = {d["metadata"]["name"]: d for d in by_kind(resources, "Deployment")}
    for service in SERVICES:
        pod = deployments[service]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        user = env["SUXING_KAFKA_USERNAME"]
        assert user == f"suxing-{service}" and user in users
        assert users[user]["spec"]["authentication"]["type"] == "scram-sha-512"
        # The password file and the CA file are mounted from the user's and the cluster's
        # Secrets where the settings say.
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        password_dir = str(Path(env["SUXING_KAFKA_PASSWORD_FILE"]).parent)
        ca_dir = str(Path(config["SUXING_KAFKA_CA_FILE"]).parent)
        (password_volume,) = [n for n, path in mounts.items() if path == password_dir]
        (ca_volume,) = [n for n, path in mounts.items() if path == ca_dir]
        assert volumes[password_volume]["secret"]["secretName"] == user
        assert volumes[ca_volume]["secret"]["secretName"] == "suxing-cluster-ca-cert"

        grants = acl_grants(users[user])
        writes = {name for op, kind, name, _ in grants if op == "Write" and kind == "topic"}
        reads = consumed_topics(service)
        assert writes == {f"suxing.{service}"} | {f"{t}.dlq" for t in reads}
        assert {name for op, kind, name, _ in grants if op == "Read" and kind == "topic"} == reads
        if reads:
            assert ("Read", "group", f"suxing.{service}", "prefix") in grants
        # Nothing wider than the Suxing topics, and no cluster-wide rights.
        assert all(kind in ("topic", "group") for _, kind, _, _ in grants)
        assert all(name.startswith("suxing.") for _, _, name, _ in grants)
    # Nobody but the owner writes a service's topic; the operator writes nothing.
    for service in SERVICES:
        writers = {
            name
            for name, user in users.items()
            for op, kind, topic, _ in acl_grants(user)
            if op == "Write" and topic == f"suxing.{service}"
        }
        assert writers == {f"suxing-{service}"}
    assert not {op for op, *_ in acl_grants(users["suxing-operator"])} - {"Describe", "Read"}


# ---- NetworkPolicies: who may talk to whom inside the namespace ----


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics for matchLabels and matchExpressions (In, NotIn,
    Exists, DoesNotExist); an empty selector selects every pod."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def pod_labels(resources: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in by_kind(resources, "Deployment")
    }


def allowed(resources: list[dict[str, Any]], source: str, target: str) -> bool:
    """Whether a pod of Deployment ``source`` may open a connection to one of ``target``
    in the same namespace: the target's ingress and the source's egress must both allow it
    (a pod no policy selects for a direction is open in that direction)."""
    labels = pod_labels(resources)
    policies = by_kind(resources, "NetworkPolicy")

    def open_way(pod: str, peer: str, way: str, peers_key: str) -> bool:
        kind = way.capitalize()
        applying = [
            p
            for p in policies
            if kind in p["spec"].get("policyTypes", ["Ingress"])
            and selects(p["spec"]["podSelector"], labels[pod])
        ]
        if not applying:
            return True
        for policy in applying:
            for rule in policy["spec"].get(way, []):
                peers = rule.get(peers_key)
                if peers is None:  # no peers listed: any peer (on the rule's ports)
                    return True
                for entry in peers:
                    if set(entry) == {"podSelector"} and selects(
                        entry["podSelector"], labels[peer]
                    ):
                        return True
        return False

    return open_way(target, source, "ingress", "from") and open_way(source, target, "egress", "to")


@pytest.mark.parametrize("overlay", [BASE, *OVERLAYS], ids=lambda p: p.name)
def test_network_policies_let_only_the_portal_call_the_services(overlay: Path) -> None:
    resources = base_resources() if overlay == BASE else render(overlay)
    labels = pod_labels(resources)
    policies = by_kind(resources, "NetworkPolicy")
    # Every workload is under a policy in both directions (default deny).
    for name, pod in labels.items():
        for kind in ("Ingress", "Egress"):
            assert any(
                kind in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], pod)
                for p in policies
            ), f"{name}: no {kind} policy"
    for source in labels:
        for target in labels:
            if source == target:
                continue
            expected = source == "portal" and target in SERVICES
            assert allowed(resources, source, target) is expected, (source, target)
    # The services' egress: DNS, Kafka's TLS listener, PostgreSQL, nothing else.
    (services_policy,) = [p for p in policies if p["metadata"]["name"] == "suxing-services"]
    ports = {
        (port["port"], port.get("protocol", "TCP"))
        for rule in services_policy["spec"]["egress"]
        for port in rule["ports"]
    }
    assert ports == {(53, "UDP"), (53, "TCP"), (9093, "TCP"), (5432, "TCP")}
    broker_port = int(configmap(resources)["SUXING_BROKER_URL"].rsplit(":", 1)[1])
    assert (broker_port, "TCP") in ports
