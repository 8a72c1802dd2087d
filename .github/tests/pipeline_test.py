#!/usr/bin/env python3
"""Offline checks of the deploy pipeline (run by infra/test.sh): the workflow's structure and the deploy plan's
decisions from the live routing-control state (with a stand-in `failover` command).

    python3 .github/tests/pipeline_test.py        prints "pipeline: N passed, M failed", exits 1 on a failure
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
DEFAULT_BRANCH_CONDITION = "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"

# Every action the workflows use, pinned by full commit SHA, each release checked to run on node24 (its action.yml
# at that commit says `using: node24`). Moving a pin means reviewing the new release and updating this table.
REVIEWED_ACTIONS = {
    "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1": "v7.0.1",
    "aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c": "v6.2.3",
    "aws-actions/amazon-ecs-render-task-definition@138c24f321fdbdf7edee4a685519d253cae2cdea": "v1.9.0",
    "aws-actions/amazon-ecs-deploy-task-definition@c465972ecbd160473f22e683363b422a5412a3de": "v2.6.3",
    "hashicorp/setup-terraform@dfe3c3f87815947d99a8997f908cb6525fc44e9e": "v4.0.1",
    "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f": "v7.0.0",
}

results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok), detail))


def load(name):
    with open(WORKFLOWS / name) as f:
        return yaml.safe_load(f)


def steps_of(job):
    return job.get("steps", [])


def run_text(step):
    return step.get("run", "") or ""


def test_actions_pinned():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = re.search(r"uses:\s*(\S+)(?:\s*#\s*(\S+))?", line)
            if not m:
                continue
            ref, comment = m.group(1), m.group(2)
            where = f"{path.name}:{n} {ref}"
            check(f"pinned by full SHA: {where}", re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref))
            check(f"reviewed node24 release: {where}", ref in REVIEWED_ACTIONS)
            check(f"release comment matches the pin: {where}", comment == REVIEWED_ACTIONS.get(ref), f"comment {comment}")


def test_default_branch_only():
    wf = load("deploy.yml")
    for name, job in wf["jobs"].items():
        check(f"deploy.yml job {name} runs on the default branch only", DEFAULT_BRANCH_CONDITION in str(job.get("if", "")),
              f"if: {job.get('if')}")
    check("the deploy job runs in the production environment", wf["jobs"]["deploy"].get("environment") == "production")


def test_builds_once():
    steps = steps_of(load("deploy.yml")["jobs"]["deploy"])
    cargo = [s for s in steps if "cargo build" in run_text(s)]
    docker = [s for s in steps if "docker build" in run_text(s)]
    check("one cargo build", len(cargo) == 1, f"{len(cargo)} cargo build steps")
    check("one docker build", len(docker) == 1, f"{len(docker)} docker build steps")
    if docker:
        m = re.search(r'--target\s+"?([^"\s]+)"?', run_text(docker[0]))
        check("the image is the -prebuilt target (no second build from source)",
              m and m.group(1).endswith("-prebuilt"), f"target {m and m.group(1)}")
    if cargo and docker:
        check("the binary is built before the image", steps.index(cargo[0]) < steps.index(docker[0]))
        check("cargo builds the static release binary the -prebuilt target copies",
              "--release" in run_text(cargo[0]) and "x86_64-unknown-linux-gnu" in run_text(cargo[0])
              and "crt-static" in str(cargo[0].get("env", {})))


def test_rollback_wiring():
    steps = steps_of(load("deploy.yml")["jobs"]["deploy"])
    ids = [s.get("id") for s in steps]
    deploys = [i for i, s in enumerate(steps) if "amazon-ecs-deploy-task-definition" in str(s.get("uses", ""))]
    smokes = [i for i, s in enumerate(steps) if "smoke-test.sh" in run_text(s)]
    record = ids.index("record") if "record" in ids else None
    check("a step records each region's task definition", record is not None
          and "ecs-revisions.sh record" in run_text(steps[record]))
    if record is not None and deploys:
        check("recorded before the first deployment", record < min(deploys))
        check("both regions recorded", "$PASSIVE" in run_text(steps[record]) and "$ACTIVE" in run_text(steps[record]))
    rollbacks = [i for i, s in enumerate(steps) if "ecs-revisions.sh rollback" in run_text(s)]
    check("one rollback step", len(rollbacks) == 1)
    if rollbacks:
        rb = steps[rollbacks[0]]
        check("the rollback runs on failure once something was recorded",
              str(rb.get("if", "")).replace(" ", "") == "failure()&&steps.record.outcome=='success'", rb.get("if"))
        check("the rollback comes after every deployment and smoke test", rollbacks[0] > max(deploys + smokes))
        check("the run still fails after a rollback", "exit 1" in run_text(rb))
    check("each region is smoke-tested after its deployment", len(deploys) == 2 and len(smokes) == 2
          and deploys[0] < smokes[0] < deploys[1] < smokes[1])


def test_live_plan_wiring():
    steps = steps_of(load("deploy.yml")["jobs"]["deploy"])
    plan = [s for s in steps if s.get("id") == "plan"]
    check("a plan step", len(plan) == 1)
    if plan:
        env = plan[0].get("env", {})
        check("the plan reads the routing controls (deploy-plan.sh with the cluster document)",
              "deploy-plan.sh" in run_text(plan[0]) and "FAILOVER_CLUSTER" in env and "FAILOVER" in env)
        creds = [i for i, s in enumerate(steps) if "configure-aws-credentials" in str(s.get("uses", ""))]
        check("credentials before the plan reads the routing controls", creds and creds[0] < steps.index(plan[0]))


def cargo_builds_failover(text):
    """Whether a run: script compiles failover (cargo build/install/run naming it, or a workspace build)."""
    for line in text.splitlines():
        if re.search(r"\bcargo\s+(build|install|run|b)\b", line) and (
                re.search(r"(--package|-p)[\s=]+\"?failover\b", line) or "--workspace" in line or "--bin failover" in line):
            return True
    return False


def test_failover_built_once_and_downloaded():
    """failover is built once per commit (deploy.yml's failover job) and published; every other job downloads it."""
    deploy = load("deploy.yml")
    job = deploy["jobs"].get("failover", {})
    builds = [s for s in steps_of(job) if cargo_builds_failover(run_text(s))]
    check("deploy.yml has a failover job that builds the static failover binary once",
          len(builds) == 1 and "--release" in run_text(builds[0]) and "x86_64-unknown-linux-gnu" in run_text(builds[0])
          and "crt-static" in str(builds[0].get("env", {})))
    uploads = [s for s in steps_of(job) if "upload-artifact" in str(s.get("uses", ""))]
    check("the failover job publishes it as the artefact failover",
          len(uploads) == 1 and uploads[0].get("with", {}).get("name") == "failover")
    on = deploy.get("on", deploy.get(True, {}))
    check("a change to failover/ publishes a new binary", "failover/**" in on.get("push", {}).get("paths", []))
    for path in sorted(WORKFLOWS.glob("*.yml")):
        wf = load(path.name)
        for name, j in wf["jobs"].items():
            if path.name == "deploy.yml" and name == "failover" or path.name == "ci.yml":
                continue
            for step in steps_of(j):
                check(f"{path.name} job {name} does not compile failover: {step.get('name', step.get('uses'))}",
                      not cargo_builds_failover(run_text(step)), run_text(step))
    for name in ("evacuate.yml", "readiness.yml"):
        steps = steps_of(next(iter(load(name)["jobs"].values())))
        check(f"{name} compiles nothing", not any("cargo" in run_text(s) for s in steps))
        fetch = [i for i, s in enumerate(steps) if "fetch-artifact.sh" in run_text(s) and " failover" in run_text(s)]
        check(f"{name} downloads the published failover binary", len(fetch) == 1)
    deploy_steps = steps_of(deploy["jobs"]["deploy"])
    check("the deploy jobs wait for the failover binary", "failover" in deploy["jobs"]["deploy"].get("needs", []))
    check("the deploy jobs download the failover binary of their run",
          any("gh run download" in run_text(s) and "--name failover" in run_text(s) for s in deploy_steps))


def test_credentials_not_in_a_fixed_region():
    """No workflow takes credentials in a region written into it: a fixed region may be the one that is down."""
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for name, job in load(path.name)["jobs"].items():
            for step in steps_of(job):
                if "configure-aws-credentials" not in str(step.get("uses", "")):
                    continue
                region = str(step.get("with", {}).get("aws-region", ""))
                check(f"{path.name} job {name}: credentials in a region chosen at run time ({step.get('name')})",
                      region.startswith("${{") and not re.search(r"[a-z]{2}-[a-z]+-\d", region), f"aws-region: {region}")
    steps = steps_of(load("evacuate.yml")["jobs"]["evacuate"])
    target = [s for s in steps if s.get("id") == "target"]
    check("evacuate.yml chooses the region being activated (evacuation-target.sh)",
          len(target) == 1 and "evacuation-target.sh" in run_text(target[0]))
    creds = [s for s in steps if "configure-aws-credentials" in str(s.get("uses", ""))]
    check("evacuate.yml takes its credentials in the region being activated",
          len(creds) == 1 and creds[0]["with"]["aws-region"].replace(" ", "") == "${{steps.target.outputs.region}}",
          creds and creds[0].get("with"))
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "cluster.json"
        apps = {app: {"primary_region": p, "secondary_region": q, "regions": {p: {}, q: {}}}
                for app, p, q in (("external-api", "us-east-1", "us-west-2"), ("service1", "us-east-1", "us-west-2"),
                                  ("service2", "us-west-2", "us-east-1"))}
        doc.write_text(json.dumps({"apps": apps}))
        for leaving, expected in (("us-east-1", "us-west-2"), ("us-west-2", "us-east-1")):
            p = subprocess.run([str(ROOT / ".github/scripts/evacuation-target.sh"), str(doc), leaving],
                               capture_output=True, text=True, env={k: v for k, v in os.environ.items() if k != "GITHUB_OUTPUT"})
            check(f"evacuating {leaving} takes credentials in {expected}",
                  p.returncode == 0 and p.stdout.strip() == f"region={expected}", p.stdout + p.stderr)
        doc.write_text(json.dumps(json.dumps({"apps": apps})))
        p = subprocess.run([str(ROOT / ".github/scripts/evacuation-target.sh"), str(doc), "us-east-1"],
                           capture_output=True, text=True)
        check("the document as a JSON string (terraform output -json) is read too", p.stdout.strip() == "region=us-west-2",
              p.stdout + p.stderr)
        p = subprocess.run([str(ROOT / ".github/scripts/evacuation-target.sh"), str(doc), "eu-west-1"],
                           capture_output=True, text=True)
        check("a region no app runs in is refused", p.returncode != 0 and "eu-west-1" in p.stderr, p.stderr)


def test_capacity_record_kept_outside_aws():
    steps = steps_of(load("readiness.yml")["jobs"]["check"])
    check_step = [s for s in steps if "check --json" in run_text(s)]
    check("the readiness run records capacity", len(check_step) == 1 and "--record-capacity" in run_text(check_step[0]))
    kept = [s for s in steps if "upload-artifact" in str(s.get("uses", ""))
            and s.get("with", {}).get("name") == "capacity-record"]
    check("the readiness run keeps the record as the artefact capacity-record, even when the check fails",
          len(kept) == 1 and kept[0].get("if") == "always()")
    if check_step and kept:
        check("the record is written before it is kept", steps.index(check_step[0]) < steps.index(kept[0]))
    fetched = [s for s in steps if "fetch-artifact.sh" in run_text(s) and "capacity-record" in run_text(s)]
    check("the readiness run starts from the last record (a region it cannot read keeps its entry)", len(fetched) == 1)
    steps = steps_of(load("evacuate.yml")["jobs"]["evacuate"])
    fetched = [s for s in steps if "fetch-artifact.sh" in run_text(s) and "capacity-record" in run_text(s)]
    run = [s for s in steps if "evacuate \"$REGION\"" in run_text(s)]
    check("evacuate.yml downloads the capacity record and passes it to evacuate",
          len(fetched) == 1 and len(run) == 1 and "--capacity-record" in run_text(run[0]))


# --- deploy-plan.sh against a stand-in failover command. ---

def status(app_regions, active, warnings=()):
    apps = {}
    for app in ("external-api", "service1", "service2"):
        apps[app] = {
            "active_region": "us-east-1", "hostname": f"{app}.example.com", "primary_region": "us-east-1",
            "secondary_region": "us-west-2", "regions": {"us-east-1": "On", "us-west-2": "Off"}, "warnings": [],
        }
    apps["service1"].update({"regions": app_regions, "active_region": active,
                             "warnings": [{"kind": w, "message": w} for w in warnings]})
    return {"apps": apps}


def deploy_plan(tmp, answer, env=None, exit_code=0, app="service1"):
    fake = Path(tmp) / "failover"
    fake.write_text(textwrap.dedent(f"""\
        #!/usr/bin/env bash
        [[ "$*" == "status --json" ]] || {{ echo "unexpected arguments: $*" >&2; exit 2; }}
        [[ -n "$FAILOVER_CLUSTER" ]] || exit 2
        cat <<'EOF'
        {json.dumps(answer)}
        EOF
        exit {exit_code}
        """))
    fake.chmod(0o755)
    e = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIVE_REGION_", "GITHUB_"))}
    e.update({"FAILOVER": str(fake), "FAILOVER_CLUSTER": str(Path(tmp) / "cluster.json")})
    e.update(env or {})
    p = subprocess.run([str(ROOT / ".github/scripts/deploy-plan.sh"), app], env=e, capture_output=True, text=True)
    out = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    return p.returncode, out, p.stderr


def test_deploy_plan():
    with tempfile.TemporaryDirectory() as tmp:
        rc, out, err = deploy_plan(tmp, status({"us-east-1": "Off", "us-west-2": "On"}, "us-west-2"))
        check("after a failover to us-west-2, us-east-1 is deployed first",
              rc == 0 and out.get("active") == "us-west-2" and out.get("passive") == "us-east-1", err)
        rc, out, err = deploy_plan(tmp, status({"us-east-1": "On", "us-west-2": "Off"}, "us-east-1"))
        check("active us-east-1: us-west-2 is deployed first",
              rc == 0 and out.get("active") == "us-east-1" and out.get("passive") == "us-west-2", err)
        rc, out, err = deploy_plan(tmp, status({"us-east-1": "Off", "us-west-2": "On"}, "us-west-2"),
                                   {"ACTIVE_REGION_SERVICE1": "us-east-1"})
        check("a stale repository variable stops the plan", rc != 0 and "ACTIVE_REGION_SERVICE1" in err, err)
        rc, out, err = deploy_plan(tmp, status({"us-east-1": "Off", "us-west-2": "On"}, "us-west-2"),
                                   {"ACTIVE_REGION_SERVICE1": "us-west-2"})
        check("a variable that agrees is fine", rc == 0 and out.get("passive") == "us-east-1", err)
        rc, out, err = deploy_plan(tmp, status({"us-east-1": "Off", "us-west-2": "Off"}, "us-east-1", ["none_on"]))
        check("no control On stops the plan", rc != 0, err)
        rc, out, err = deploy_plan(tmp, status({"us-east-1": "On", "us-west-2": "On"}, "us-east-1", ["all_on"]))
        check("both controls On stops the plan", rc != 0, err)
        rc, out, err = deploy_plan(tmp, status({"us-east-1": "On", "us-west-2": "Off"}, "us-east-1"), exit_code=1)
        check("an unreadable cluster stops the plan", rc != 0 and "cannot read" in err, err)
        rc, out, err = deploy_plan(tmp, status({"us-east-1": "On", "eu-west-1": "Off"}, "us-east-1"))
        check("controls outside DEPLOY_REGIONS stop the plan", rc != 0 and "DEPLOY_REGIONS" in err, err)
        rc, out, err = deploy_plan(tmp, status({"us-east-1": "On", "us-west-2": "Off"}, "us-east-1"),
                                   {"FAILOVER_CLUSTER": ""})
        check("no cluster document stops the plan", rc != 0, err)


# --- The pipeline's apps are the regional root's (infra/region/variables.tf, the default of var.apps). ---

def terraform_apps():
    """{app: hostname_label} from the default of the regional root's apps variable."""
    text = (ROOT / "infra/region/variables.tf").read_text()
    block = text[text.index('variable "apps" {'):]
    block = block[block.index("  default = {"):block.index("\n  }\n")]
    return dict(re.findall(r'^    ([a-z][a-z0-9-]*) = \{\s*hostname_label\s*=\s*"([^"]+)"', block, re.M))


def test_apps_match_terraform():
    apps = terraform_apps()
    check("the regional root's default apps are readable", set(apps) >= {"gateway", "service1", "service2"}, apps)
    p = subprocess.run([str(ROOT / ".github/scripts/changed-apps.sh"), ""], capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if k != "GITHUB_OUTPUT"})
    deployed = json.loads(p.stdout.strip().split("=", 1)[1]) if p.returncode == 0 else None
    check("a manual run deploys every app of the regional root", deployed and sorted(deployed) == sorted(apps),
          f"pipeline {deployed}, terraform {sorted(apps)}")
    with tempfile.TemporaryDirectory() as tmp:
        for app, label in sorted(apps.items()):
            rc, out, err = deploy_plan(tmp, status({"us-east-1": "On", "us-west-2": "Off"}, "us-east-1"), app=app)
            check(f"{app}: the smoke test's hostname label is its Terraform hostname_label ({label})",
                  rc == 0 and out.get("hostname_label") == label, f"{out} {err}")


def main():
    for test in (test_actions_pinned, test_default_branch_only, test_builds_once, test_rollback_wiring,
                 test_live_plan_wiring, test_failover_built_once_and_downloaded, test_credentials_not_in_a_fixed_region,
                 test_capacity_record_kept_outside_aws, test_deploy_plan, test_apps_match_terraform):
        test()
    failed = [r for r in results if not r[1]]
    for name, ok, detail in results:
        if not ok:
            print(f"FAIL {name}" + (f": {detail}" if detail else ""))
    print(f"pipeline: {len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
