#!/usr/bin/env python3
# Run with tools/venv/bin/python (scripts/install-helm-tools.sh makes it).
"""The chart checks of `make helm-check`.

For the default values and every value set (the example values in deploy/ and the sets in
helm/alongside/ci/): `helm lint --strict`, `helm template`, the rendered manifests validated with
kubernetes-validate --strict against the oldest supported and the newest Kubernetes, the chart's
own rules checked on every object (hardened pods, secrets never inlined, stable selectors), each
rendered config file loaded by the service's own binary (`check-config`), and the render compared
with its golden copy in helm/golden/ so that every change to the output shows in review.
Also: values the schema must refuse are refused, and the image carries every service's binary.

    scripts/helm-check.py            check
    scripts/helm-check.py --update   rewrite the golden renders after an intended change
"""
import difflib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema  # with kubernetes-validate, in tools/venv: run this with tools/venv/bin/python
import yaml

ROOT = Path(__file__).resolve().parent.parent

HELM = ROOT / "tools" / "helm" / "bin" / "helm"
VALIDATE = ROOT / "tools" / "venv" / "bin" / "kubernetes-validate"
CHART = ROOT / "helm" / "alongside"
GOLDEN = ROOT / "helm" / "golden"
BIN_DIR = Path(os.environ.get("ALONGSIDE_BIN_DIR", ROOT / "target" / "debug"))
RELEASE, NAMESPACE = "alongside", "alongside"
# chart's kubeVersion floor, and the newest schemas kubernetes-validate carries
KUBE_VERSIONS = ["1.27.0", "1.37.0"]

VALUE_SETS = {"default": []}
VALUE_SETS.update({f"example-{p.stem.removeprefix('values-')}": [p] for p in sorted((ROOT / "deploy").glob("values-*.yaml"))})
VALUE_SETS.update({p.stem: [p] for p in sorted((CHART / "ci").glob("*.yaml"))})

# The fields of Strimzi's KafkaTopic (kafka.strimzi.io/v1beta2) the chart sets, as its CRD defines them.
KAFKA_TOPIC = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1beta2"},
        "kind": {"const": "KafkaTopic"},
        "metadata": {
            "type": "object",
            "required": ["name", "labels"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 253},
                "labels": {"type": "object", "required": ["strimzi.io/cluster"]},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "topicName": {"type": "string"},
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {"type": "object"},
            },
        },
    },
}

# prometheus-operator's ServiceMonitor (monitoring.coreos.com/v1): the fields the chart sets.
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {"type": "object", "required": ["matchLabels"]},
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": {"type": "string", "pattern": "^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"},
                        },
                    },
                },
            },
        },
    },
}
CUSTOM_RESOURCES = {"KafkaTopic": KAFKA_TOPIC, "ServiceMonitor": SERVICE_MONITOR}

failures = []


def fail(message):
    failures.append(message)
    print(f"FAIL {message}", flush=True)


def helm(*args, check=True):
    result = subprocess.run([str(HELM), *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SystemExit(f"helm {' '.join(args)} failed:\n{result.stderr}")
    return result


def render(files, extra=()):
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    for f in files:
        args += ["-f", str(f)]
    return helm(*args, *extra, check=False)


def pod_specs(doc):
    kind = doc["kind"]
    if kind == "Deployment":
        return [doc["spec"]["template"]["spec"]]
    if kind == "Job":
        return [doc["spec"]["template"]["spec"]]
    if kind == "Pod":
        return [doc["spec"]]
    return []


def check_rules(name, docs, values_files):
    """The chart's promises, checked on every rendered object."""
    for doc in docs:
        ident = f"{name}: {doc['kind']}/{doc['metadata']['name']}"
        for spec in pod_specs(doc):
            psc = spec.get("securityContext", {})
            if not psc.get("runAsNonRoot") or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                fail(f"{ident}: pod must run as non-root with seccomp RuntimeDefault")
            if spec.get("automountServiceAccountToken") is not False:
                fail(f"{ident}: service-account token must not be mounted")
            for c in spec["containers"]:
                sc = c.get("securityContext", {})
                if not (sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False
                        and sc.get("capabilities", {}).get("drop") == ["ALL"]):
                    fail(f"{ident}: container {c['name']} is not hardened")
                if "resources" not in c:
                    fail(f"{ident}: container {c['name']} has no resources")
                for env in c.get("env", []):
                    secretish = any(w in env["name"] for w in ("KEY", "PASSWORD", "DATABASE_URL"))
                    if secretish and "valueFrom" not in env:
                        fail(f"{ident}: {env['name']} is inlined; it must come from a Secret")
        if doc["kind"] == "Deployment":
            selector = doc["spec"]["selector"]["matchLabels"]
            if set(selector) != {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"}:
                fail(f"{ident}: selector must be name/instance/component only (selectors cannot change on upgrade)")
            labels = doc["spec"]["template"]["metadata"]["labels"]
            if any(labels.get(k) != v for k, v in selector.items()):
                fail(f"{ident}: pod labels do not match the selector")
            c = doc["spec"]["template"]["spec"]["containers"][0]
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe not in c:
                    fail(f"{ident}: no {probe}")
            if c["command"][0] != "alongside-gateway" and "grpc" not in c.get("readinessProbe", {}):
                fail(f"{ident}: a gRPC service must use the native gRPC probe")
        if doc["kind"] == "ConfigMap":
            text = doc["data"].get("config.toml", "")
            for word in ("password", "internal_token_key", "postgres://"):
                if word in text:
                    fail(f"{ident}: config file holds `{word}`; secrets belong in the Secret")
    kinds = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], []).append(doc)
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for f in values_files:
        merge(values, yaml.safe_load(Path(f).read_text()))
    deployments = {d["metadata"]["name"] for d in kinds.get("Deployment", [])}
    for service in values["services"]:
        if f"{RELEASE}-{service}" not in deployments:
            fail(f"{name}: no Deployment for service {service}")
    if values["secrets"]["existingSecret"] and kinds.get("Secret"):
        fail(f"{name}: a Secret is rendered although secrets.existingSecret is set")
    registry = [t["name"] for t in yaml.safe_load((CHART / "files" / "topics.yaml").read_text())]
    topics = [d["spec"]["topicName"] for d in kinds.get("KafkaTopic", [])]
    if values["kafka"]["topics"]["provision"] == "strimzi" and sorted(topics) != sorted(registry):
        fail(f"{name}: KafkaTopics {topics} are not the registry's {registry}")
    for kind, schema in CUSTOM_RESOURCES.items():
        for doc in kinds.get(kind, []):
            try:
                jsonschema.validate(doc, schema)
            except jsonschema.ValidationError as err:
                fail(f"{name}: {kind}/{doc['metadata']['name']}: {err.message}")
    for doc in kinds.get("NetworkPolicy", []):
        component = doc["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for rule in doc["spec"]["ingress"]:
            ports = [p["port"] for p in rule["ports"]]
            if ports == ["metrics"] and not rule.get("from"):
                fail(f"{name}: NetworkPolicy/{doc['metadata']['name']}: the metrics port is open to everyone")
            if component != "gateway" and ports == ["grpc"]:
                peers = {p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") for p in rule.get("from", [])}
                if not rule.get("from") or peers - {"gateway", "probe"}:
                    fail(f"{name}: NetworkPolicy/{doc['metadata']['name']}: {component} accepts more than the gateway")


def merge(base, extra):
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value


def check_configs(name, docs):
    """Each Deployment's rendered config file, loaded and validated by the binary that will read
    it, with the container's own environment (secrets replaced by stand-ins of the right shape)."""
    configs = {d["metadata"]["name"]: d["data"]["config.toml"] for d in docs if d["kind"] == "ConfigMap"}
    stand_ins = {
        "DATABASE_URL": "postgres://alongside@db.invalid:5432/alongside",
        "ALONGSIDE_AUTH__INTERNAL_TOKEN_KEY": "helm-check-internal-token-key-0123456789",
        "ALONGSIDE_BANK_DETAILS_KEY": "helm-check-bank-details-key-0123456789",
    }
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        spec = doc["spec"]["template"]["spec"]
        container = spec["containers"][0]
        config_map = next(v["configMap"]["name"] for v in spec["volumes"] if "configMap" in v)
        env = {"PATH": os.environ.get("PATH", ""), "RUST_BACKTRACE": "0"}
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = var["value"]
            elif "secretKeyRef" in var["valueFrom"]:
                env[var["name"]] = stand_ins.get(var["name"], "helm-check-secret-stand-in")
        binary = BIN_DIR / container["command"][0]
        if not binary.exists():
            raise SystemExit(f"{binary} is missing: build the binaries first (cargo build --workspace --bins)")
        with tempfile.NamedTemporaryFile("w", suffix=".toml") as f:
            f.write(configs[config_map])
            f.flush()
            env["ALONGSIDE_CONFIG"] = f.name
            result = subprocess.run([str(binary), "check-config"], capture_output=True, text=True, env=env)
        if result.returncode != 0:
            fail(f"{name}: {binary.name} rejects its rendered config: {(result.stderr or result.stdout).strip()}")


def check_value_set(name, files, update):
    lint = helm("lint", "--strict", str(CHART), *sum((["-f", str(f)] for f in files), []), check=False)
    if lint.returncode != 0:
        fail(f"{name}: helm lint --strict:\n{lint.stdout}{lint.stderr}")
    result = render(files)
    if result.returncode != 0:
        fail(f"{name}: helm template: {result.stderr.strip()}")
        return
    out = result.stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(out)
        f.flush()
        for version in KUBE_VERSIONS:
            v = subprocess.run([str(VALIDATE), "--strict", "--quiet", "-k", version, f.name], capture_output=True, text=True)
            unknown = [line for line in (v.stdout + v.stderr).splitlines()
                       if "Couldn't find schema" in line and not any(f"kind {k} " in line for k in CUSTOM_RESOURCES)]
            if v.returncode != 0 or unknown:
                fail(f"{name}: kubernetes-validate --strict -k {version}:\n{v.stdout}{v.stderr}")
    check_rules(name, docs, files)
    check_configs(name, docs)
    golden = GOLDEN / f"{name}.yaml"
    if update:
        golden.write_text(out)
    elif not golden.exists() or golden.read_text() != out:
        diff = difflib.unified_diff(
            golden.read_text().splitlines() if golden.exists() else [], out.splitlines(),
            f"helm/golden/{name}.yaml", f"render of {name}", lineterm="", n=2)
        fail(f"{name}: the render differs from helm/golden/{name}.yaml (run `make helm-check UPDATE=1` if intended):\n" + "\n".join(list(diff)[:80]))
    counts = {}
    for d in docs:
        counts[d["kind"]] = counts.get(d["kind"], 0) + 1
    print(f"ok   {name}: {len(docs)} objects ({', '.join(f'{n} {k}' for k, n in sorted(counts.items()))})", flush=True)


def check_refusals():
    """Values the chart must refuse, with a message that says what is wrong."""
    cases = [
        (["--set", "kafka.brokerz=x"], "additional properties 'brokerz' not allowed"),
        (["--set", "services.people.port=abc"], "/services/people/port"),
        (["--set", "kafka.topics.provision=maybe"], "/kafka/topics/provision"),
        (["--set", "serviceDefaults.autoscaling.targetCPUUtilizationPercentage=150"], "targetCPUUtilizationPercentage"),
        (["--set", "services.reports.port=1"], "additional properties 'reports' not allowed"),
        (["--set", "secrets.existingSecret="], "secrets.create.internalTokenKey is required"),
    ]
    for args, expected in cases:
        result = render([], args)
        if result.returncode == 0 or expected not in result.stderr:
            fail(f"values {' '.join(args)} must be refused with {expected!r}; got: {result.stderr.strip() or 'accepted'}")
    print(f"ok   {len(cases)} bad value sets refused", flush=True)


def check_image():
    """The image is not built here (no registry for base images), so its Dockerfile is linted with
    hadolint, and checked to ship what the chart runs."""
    path = ROOT / "deploy" / "Dockerfile"
    lint = subprocess.run([str(ROOT / "tools" / "venv" / "bin" / "hadolint"), "--failure-threshold", "warning", str(path)],
                          capture_output=True, text=True)
    if lint.returncode != 0:
        fail(f"hadolint deploy/Dockerfile:\n{lint.stdout}{lint.stderr}")
    dockerfile = path.read_text()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for service in values["services"]:
        if f"alongside-{service}" not in dockerfile:
            fail(f"deploy/Dockerfile does not ship alongside-{service}")
    print("ok   deploy/Dockerfile passes hadolint and ships every service's binary", flush=True)


def main():
    update = "--update" in sys.argv[1:]
    for tool in (HELM, VALIDATE):
        if not tool.exists():
            raise SystemExit(f"{tool} is missing: run scripts/install-helm-tools.sh")
    GOLDEN.mkdir(exist_ok=True)
    for name, files in VALUE_SETS.items():
        check_value_set(name, files, update)
    stale = {p.stem for p in GOLDEN.glob("*.yaml")} - set(VALUE_SETS)
    for name in sorted(stale):
        fail(f"helm/golden/{name}.yaml has no value set any more: delete it")
    check_refusals()
    check_image()
    if failures:
        raise SystemExit(f"helm-check: {len(failures)} failure(s)")
    print(f"helm-check: {len(VALUE_SETS)} value sets rendered, validated and matching their golden renders")


if __name__ == "__main__":
    main()
