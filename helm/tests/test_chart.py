"""The Helm chart, rendered offline and checked for what matters.

Helm's own engine renders and lints the chart (helm-python-sdk, no helm binary, no cluster);
every rendered manifest is validated against the Kubernetes schemas (kubernetes-validate), and
the Prometheus operator's resources against schemas committed beside this file. Run through the
venv that .ci/run makes: `target/ci-venv/bin/python -m pytest helm/tests` (tests/helm_chart.rs
does it inside `cargo test`).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

HERE = Path(__file__).resolve().parent
CHART = HERE.parent / "okienko"
REPO = HERE.parent.parent
VALUES = HERE / "values"

# The oldest Kubernetes the chart declares (Chart.yaml kubeVersion) and the newest the
# validator knows.
KUBE_VERSIONS = ["1.27", kubernetes_validate.utils.latest_version()]
# Variables that carry secrets: only ever read from a Secret.
SECRET_ONLY = {"DATABASE_URL", "SMTP_URL", "OKIENKO_SECRET", "SMS_HTTP_TOKEN"}
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule-monitoring-v1.json",
}
SCENARIOS = ["defaults", "minimal", "production"]


def scenario_values(name: str) -> dict:
    if name == "defaults":
        return {}
    return yaml.safe_load((VALUES / f"{name}.yaml").read_text(encoding="utf-8"))


def render(values: dict, chart: Path = CHART) -> list[dict]:
    """Every manifest the chart renders with `values`, parsed (NOTES.txt aside)."""
    with helm.Chart.load(str(chart)) as c:
        out = c.render(
            values,
            name="okienko",
            namespace="okienko",
            is_install=True,
        )
    docs = []
    for path, text in sorted(out.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                doc.setdefault("metadata", {}).setdefault("annotations", None)
                if doc["metadata"]["annotations"] is None:
                    del doc["metadata"]["annotations"]
                docs.append(doc)
    return docs


def notes(values: dict) -> str:
    with helm.Chart.load(str(CHART)) as c:
        out = c.render(values, name="okienko", namespace="okienko", is_install=True)
    return next(t for p, t in out.items() if p.endswith("NOTES.txt"))


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict], kind: str, component: str | None = None) -> dict:
    found = [
        d
        for d in by_kind(docs, kind)
        if component is None
        or d["metadata"]["labels"].get("app.kubernetes.io/component") == component
    ]
    assert len(found) == 1, f"expected one {kind} {component or ''}, got {len(found)}"
    return found[0]


def pod_specs(docs: list[dict]) -> list[tuple[str, dict]]:
    """(name, pod spec) of every Deployment and Job."""
    specs = []
    for d in docs:
        if d["kind"] in ("Deployment", "Job"):
            specs.append((f'{d["kind"]}/{d["metadata"]["name"]}', d["spec"]["template"]["spec"]))
    return specs


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


@pytest.fixture(scope="module", params=SCENARIOS)
def rendered(request) -> tuple[str, dict, list[dict]]:
    values = scenario_values(request.param)
    return request.param, values, render(values)


def test_lint_is_clean():
    for name in SCENARIOS:
        report = helm.lint(str(CHART), scenario_values(name), strict=True)
        problems = [m for m in report["messages"] if m["severity"] >= 2]
        assert not report["errors"] and not problems, (name, report)


def test_values_pass_the_schema():
    with helm.Chart.load(str(CHART)) as c:
        for name in SCENARIOS:
            c.validate_schema(scenario_values(name))


def test_every_manifest_is_valid_kubernetes(rendered):
    name, _, docs = rendered
    crd = {k: json.loads((HERE / "schemas" / f).read_text()) for k, f in CRD_SCHEMAS.items()}
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"])
        if key in crd:
            jsonschema.Draft202012Validator(crd[key]).validate(doc)
            continue
        for version in KUBE_VERSIONS:
            # strict: a field Kubernetes does not know fails instead of being dropped silently.
            kubernetes_validate.validate(doc, version, strict=True)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "Job"} <= kinds, (name, kinds)


def test_probes(rendered):
    _, _, docs = rendered
    c = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    # The listener opens after migrations, imports and the policies' tests: the startup
    # probe allows a minute at least before liveness may restart the pod.
    s = c["startupProbe"]
    assert s["periodSeconds"] * s["failureThreshold"] >= 60
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert env_of(c)["OKIENKO_LISTEN"]["value"] == f'0.0.0.0:{ports["http"]}'


def test_non_root_and_read_only(rendered):
    _, _, docs = rendered
    for name, spec in pod_specs(docs):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert c["resources"]["requests"] and c["resources"]["limits"]["memory"], name
            mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
            # What the server writes (OKIENKO_DATA_DIR, /tmp) is an emptyDir; the cities'
            # files are mounted read-only.
            data_dir = env_of(c)["OKIENKO_DATA_DIR"]["value"]
            for path in (data_dir, "/tmp"):
                assert "emptyDir" in volumes[mounts[path]["name"]], (name, path)
            for path, m in mounts.items():
                if "configMap" in volumes[m["name"]]:
                    assert m.get("readOnly") is True, (name, path)


def test_migrations_run_as_a_hook_before_the_pods(rendered):
    _, _, docs = rendered
    job = one(docs, "Job", "migrate")
    a = job["metadata"]["annotations"]
    assert set(a["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert set(a["helm.sh/hook-delete-policy"].split(",")) == {
        "before-hook-creation",
        "hook-succeeded",
    }
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    (c,) = spec["containers"]
    assert c["args"] == ["migrate"]
    assert c["image"] == one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert env_of(c)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    # A pre-install hook runs before the release's own resources exist: it may not depend on
    # the chart's ServiceAccount or ConfigMaps.
    assert "serviceAccountName" not in spec
    assert not any("configMap" in v for v in spec["volumes"])


def test_secrets_are_only_referenced(rendered):
    name, values, docs = rendered
    assert not by_kind(docs, "Secret"), "the chart must not create Secrets"
    for where, spec in pod_specs(docs):
        for c in spec["containers"]:
            for e in c.get("env", []):
                if e["name"] in SECRET_ONLY:
                    assert set(e) == {"name", "valueFrom"}, (where, e)
                    assert set(e["valueFrom"]) == {"secretKeyRef"}, (where, e)
                value = e.get("value", "")
                # No credentials in a URL, no long random-looking string.
                assert not re.search(r"://[^/\s]*:[^/\s]*@", value), (where, e)
                assert not re.fullmatch(r"[A-Za-z0-9+/=_-]{32,}", value), (where, e)
            for ref in c.get("envFrom", []):
                assert set(ref) == {"secretRef"}, (where, ref)
    c = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = env_of(c)
    expected = {"DATABASE_URL": "databaseUrl", "OKIENKO_SECRET": "okienkoSecret"}
    if name == "production":
        expected |= {"SMTP_URL": "smtpUrl", "SMS_HTTP_TOKEN": "smsHttpToken"}
        assert c["envFrom"] == [{"secretRef": {"name": "okienko-extra"}}]
    for var, key in expected.items():
        ref = values.get("secrets", {}).get(key) or {"name": "okienko", "key": var}
        assert env[var]["valueFrom"]["secretKeyRef"] == ref, var
    for var in SECRET_ONLY - set(expected):
        assert var not in env, var


@pytest.mark.parametrize(
    "values",
    [
        {"secrets": {"databaseUrl": "postgres://okienko:haslo@db:5432/okienko"}},
        {"secrets": {"smtpUrl": "smtp://user:pass@mail:587"}},
        {"secrets": {"okienkoSecret": {"name": "okienko", "key": "x", "value": "s3cret"}}},
        {"extraEnv": [{"name": "DATABASE_URL", "value": "postgres://u:p@db/okienko"}]},
        {"extraEnv": [{"name": "SMS_HTTP_TOKEN", "valueFrom": {"configMapKeyRef": {"name": "a", "key": "b"}}}]},
        {"extraEnv": [{"name": "OKIENKO_SECRET", "value": "abc", "valueFrom": {"secretKeyRef": {"name": "a", "key": "b"}}}]},
    ],
    ids=["url-inline", "smtp-inline", "extra-field", "extraEnv-value", "extraEnv-configmap", "extraEnv-both"],
)
def test_an_inline_secret_is_refused(values):
    with helm.Chart.load(str(CHART)) as c:
        with pytest.raises(helm.HelmValuesError):
            c.validate_schema(values)


def test_an_inline_secret_is_refused_without_the_schema(tmp_path):
    # `helm template --skip-schema-validation` bypasses values.schema.json: the template
    # refuses as well.
    chart = tmp_path / "okienko"
    shutil.copytree(CHART, chart)
    (chart / "values.schema.json").unlink()
    with pytest.raises(helm.HelmError, match="DATABASE_URL may only come from a Secret"):
        render({"extraEnv": [{"name": "DATABASE_URL", "value": "postgres://u:p@db/x"}]}, chart)


def test_replicas_autoscaling_and_disruption_budget(rendered):
    name, values, docs = rendered
    d = one(docs, "Deployment")
    assert d["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    pdbs = by_kind(docs, "PodDisruptionBudget")
    if name == "production":
        (hpa,) = hpas
        # The autoscaler owns the count: a replicas field would fight it on every upgrade.
        assert "replicas" not in d["spec"]
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": d["metadata"]["name"],
        }
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
        assert {m["resource"]["name"] for m in hpa["spec"]["metrics"]} == {"cpu", "memory"}
        (pdb,) = pdbs
        assert pdb["spec"] == {
            "minAvailable": 2,
            "selector": d["spec"]["selector"],
        }
    else:
        assert not hpas
        assert d["spec"]["replicas"] == values.get("replicaCount", 2)
    if name == "defaults":
        (pdb,) = pdbs
        assert pdb["spec"]["maxUnavailable"] == 1
        assert pdb["spec"]["selector"] == d["spec"]["selector"]
    if name == "minimal":
        assert not pdbs


def test_service_selects_the_server_pods(rendered):
    _, _, docs = rendered
    d = one(docs, "Deployment")
    svc = one(docs, "Service")
    labels = d["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in svc["spec"]["selector"].items())
    # The migration Job's pods are never behind the Service.
    job = one(docs, "Job", "migrate")["spec"]["template"]["metadata"]["labels"]
    assert not all(job.get(k) == v for k, v in svc["spec"]["selector"].items())


def test_ingress_routes_the_cities_hosts_to_http_only():
    docs = render(scenario_values("production"))
    ing = one(docs, "Ingress")
    hosts = {r["host"]: r for r in ing["spec"]["rules"]}
    assert set(hosts) == {"rezerwacje.gdynia.example.org", "kolejka.opole.example.org"}
    paths = [p["path"] for p in hosts["kolejka.opole.example.org"]["http"]["paths"]]
    assert paths == ["/t/opole", "/healthz"]
    for rule in ing["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            assert p["backend"]["service"]["port"] == {"name": "http"}
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"][0]["secretName"] == "okienko-tls"
    c = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(c)["OKIENKO_PUBLIC_URL"]["value"] == "https://rezerwacje.example.org"


def test_public_url_falls_back_to_the_first_ingress_host():
    values = {"ingress": {"enabled": True, "hosts": [{"host": "okienko.example.org"}],
                          "tls": [{"secretName": "t", "hosts": ["okienko.example.org"]}]}}
    c = one(render(values), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(c)["OKIENKO_PUBLIC_URL"]["value"] == "https://okienko.example.org"
    assert "OKIENKO_PUBLIC_URL" not in env_of(
        one(render({}), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    )
    assert "publicUrl" in notes({})


def test_metrics_port_service_monitor_and_network_policy():
    docs = render(scenario_values("production"))
    c = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(c)["OKIENKO_METRICS_LISTEN"]["value"] == "0.0.0.0:9090"
    svc = one(docs, "Service")
    assert {p["name"] for p in svc["spec"]["ports"]} == {"http", "metrics"}
    sm = one(docs, "ServiceMonitor")
    assert sm["metadata"]["labels"]["release"] == "prometheus"
    assert sm["spec"]["endpoints"][0]["port"] == "metrics"
    assert sm["spec"]["endpoints"][0]["path"] == "/metrics"
    assert all(svc["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items())

    np = one(docs, "NetworkPolicy")
    assert np["spec"]["podSelector"]["matchLabels"] == one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert np["spec"]["policyTypes"] == ["Ingress", "Egress"]
    by_port = {r["ports"][0]["port"]: r for r in np["spec"]["ingress"]}
    # Every rule names its peers: a rule without `from` would let everyone in.
    assert by_port["http"]["from"] and by_port["metrics"]["from"]
    assert by_port["metrics"]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    egress_ports = {p["port"] for r in np["spec"]["egress"] for p in r["ports"]}
    assert {53, 5432, 587, 443} <= egress_ports

    minimal = render(scenario_values("minimal"))
    c = one(minimal, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert "OKIENKO_METRICS_LISTEN" not in env_of(c)
    assert [p["name"] for p in one(minimal, "Service")["spec"]["ports"]] == ["http"]
    for kind in ("ServiceMonitor", "PrometheusRule", "NetworkPolicy", "Ingress", "ConfigMap"):
        assert not by_kind(minimal, kind), kind


def test_an_empty_peer_list_is_refused():
    # `from: []` in a NetworkPolicy means everyone; the schema asks for at least one peer.
    with helm.Chart.load(str(CHART)) as c:
        with pytest.raises(helm.HelmValuesError):
            c.validate_schema({"networkPolicy": {"enabled": True, "metricsFrom": []}})


def test_cities_from_values_and_chart_files(tmp_path):
    chart = tmp_path / "okienko"
    shutil.copytree(CHART, chart)
    shutil.copytree(REPO / "policies" / "opole", chart / "files" / "tenants" / "opole")
    values = scenario_values("production")
    docs = render(values, chart)
    cm = one(docs, "ConfigMap", "tenants")
    assert cm["metadata"]["name"] == "okienko-tenants"
    d = one(docs, "Deployment")["spec"]["template"]["spec"]
    (vol,) = [v for v in d["volumes"] if "configMap" in v]
    items = {i["path"]: i["key"] for i in vol["configMap"]["items"]}
    opole = REPO / "policies" / "opole"
    for f in sorted(opole.rglob("*")):
        if f.is_file():
            rel = "opole/" + f.relative_to(opole).as_posix()
            assert cm["data"][items[rel]] == f.read_text(encoding="utf-8"), rel
    inline = values["tenants"]["inline"]["gdynia"]
    for rel, text in inline.items():
        assert cm["data"][items[f"gdynia/{rel}"]] == text
    assert set(items.values()) == set(cm["data"]), "every key mounted, nothing else"
    # The chart's own README under files/tenants/ is not a city file.
    assert not any("README" in p for p in items)
    # A ConfigMap holds at most 1 MiB.
    assert sum(len(v.encode()) for v in cm["data"].values()) < 1024 * 1024
    c = d["containers"][0]
    mount = next(m for m in c["volumeMounts"] if m["name"] == vol["name"])
    assert env_of(c)["OKIENKO_POLICIES"]["value"] == mount["mountPath"]

    # A changed city file rolls the pods.
    before = one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/tenants"]
    changed = json.loads(json.dumps(values))
    changed["tenants"]["inline"]["gdynia"]["policy.rhai"] += "// zmiana\n"
    after = one(render(changed, chart), "Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/tenants"]
    assert before != after

    # The import Job (applyOnUpgrade) runs after the ConfigMap is updated, on the same files.
    job = one(docs, "Job", "tenants-import")
    assert set(job["metadata"]["annotations"]["helm.sh/hook"].split(",")) == {"post-install", "post-upgrade"}
    jc = job["spec"]["template"]["spec"]["containers"][0]
    assert jc["args"] == ["tenants", "import", mount["mountPath"]]


def test_a_city_without_tenant_toml_is_refused():
    with helm.Chart.load(str(CHART)) as c:
        with pytest.raises(helm.HelmValuesError):
            c.validate_schema({"tenants": {"inline": {"gdynia": {"policy.rhai": "x"}}}})


def test_demo_cities_come_from_the_image():
    docs = render({"tenants": {"demo": True, "inline": {"x": {"tenant.toml": "slug = 'x'"}}}})
    c = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(c)["OKIENKO_POLICIES"]["value"] == dockerfile_env()["OKIENKO_POLICIES"]
    assert not by_kind(docs, "ConfigMap")


def metric_names_in_contract() -> set[str]:
    text = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `(okienko_[a-z0-9_]+)` \|", text, re.M))


def metric_names_used(expr: str) -> set[str]:
    names = set(re.findall(r"\b(okienko_[a-z0-9_]+)", expr))
    # Histograms are queried through their series.
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def test_dashboard_and_alerts_use_only_the_documented_metrics():
    contract = metric_names_in_contract()
    assert len(contract) > 30
    docs = render(scenario_values("production"))
    dash_cm = one(docs, "ConfigMap", "dashboard")
    assert dash_cm["metadata"]["namespace"] == "monitoring"
    assert dash_cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dash = json.loads(dash_cm["data"]["okienko.json"])
    assert dash == json.loads((CHART / "dashboards" / "okienko.json").read_text(encoding="utf-8"))
    used = set()
    ids = set()
    for panel in dash["panels"]:
        ids.add(panel["id"])
        for t in panel.get("targets", []):
            used |= metric_names_used(t["expr"])
    assert len(ids) == len(dash["panels"]), "panel ids are unique"
    assert used - contract == set(), "the dashboard uses metrics docs/metrics.md does not list"

    rule = one(docs, "PrometheusRule")
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    alert_metrics = set()
    for a in alerts:
        alert_metrics |= metric_names_used(a["expr"])
        assert a["labels"]["severity"] in {"critical", "warning", "info"}
        assert a["annotations"]["summary"] and a["annotations"]["description"]
        # The ServiceMonitor's targets carry the Service's name as their job.
        assert f'job="{one(docs, "Service")["metadata"]["name"]}"' in a["expr"], a["alert"]
    assert alert_metrics - contract == set()
    # Every alert is explained in docs/operations.md.
    ops = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    for a in alerts:
        assert f"`{a['alert']}`" in ops, a["alert"]
    # Most of the contract is on the dashboard.
    assert len(used) >= 0.8 * len(contract), sorted(contract - used)


def dockerfile_env() -> dict[str, str]:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    final = text.split("\nFROM ")[-1]
    env = {}
    for line in re.findall(r"^ENV (.+)$", final, re.M):
        for k, v in re.findall(r"(\w+)=(\S+)", line):
            env[k] = v
    return env


def test_chart_and_dockerfile_agree():
    """The image cannot be built here (no Docker engine): check what the chart relies on."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    final = text.split("\nFROM ")[-1]
    docs = render({})
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    user = re.search(r"^USER (\d+):(\d+)$", final, re.M)
    assert user, "the runtime stage runs as a numeric non-root user"
    assert (int(user[1]), int(user[2])) == (spec["securityContext"]["runAsUser"], spec["securityContext"]["runAsGroup"])
    c = spec["containers"][0]
    env = dockerfile_env()
    assert env["OKIENKO_DATA_DIR"] == env_of(c)["OKIENKO_DATA_DIR"]["value"]
    assert re.search(r"^ENTRYPOINT \[\"/usr/local/bin/okienko\"\]$", final, re.M)
    assert re.search(r"^COPY policies " + re.escape(env["OKIENKO_POLICIES"]) + "$", final, re.M)
    exposed = set(re.findall(r"^EXPOSE (.+)$", final, re.M)[0].split())
    ports = {str(p["containerPort"]) for p in c["ports"]}
    assert ports <= exposed


def test_the_chart_sets_only_variables_the_server_reads():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme))
    # Served once the metrics endpoint lands (docs/metrics.md).
    documented.add("OKIENKO_METRICS_LISTEN")
    docs = render(scenario_values("production"))
    for where, spec in pod_specs(docs):
        for c in spec["containers"]:
            for e in c.get("env", []):
                if e["name"] in {"OKIENKO_EXTRA_SETTING", "SMTP_URL_FALLBACK"}:
                    continue  # the production values' own extraEnv
                assert e["name"] in documented, (where, e["name"])
