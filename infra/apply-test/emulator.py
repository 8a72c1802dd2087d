#!/usr/bin/env python3
"""Helpers of the apply stage (infra/apply-test.sh) that talk to the emulators or read Terraform's JSON.

    emulator.py hosted-zone <domain>             create the public hosted zone, print its ID
    emulator.py plan-changes <plan.json>         print one line per planned change: <actions> <address>
    emulator.py arc-mode-plan <plan.json>        exit 1 unless the plan replaces the gateway's task definition
                                                 with GATEWAY_FAILOVER_MODE=arc and gives its task role a policy
    emulator.py inventory <region>...            print every resource left in the emulator, one per line
    emulator.py validation-records <zone-id>     print the ACM validation records (CNAME to acm-validations.aws)

The AWS endpoint comes from AWS_ENDPOINT_URL (moto's server); credentials from the environment.
"""

import json
import os
import sys

import boto3


def client(service, region="us-east-1"):
    return boto3.client(service, region_name=region, endpoint_url=os.environ["AWS_ENDPOINT_URL"])


def hosted_zone(domain):
    """AWS's hosted zone IDs start with Z (the roots validate that); moto's are random: create until one does."""
    r53 = client("route53")
    for attempt in range(500):
        zone = r53.create_hosted_zone(Name=domain, CallerReference=f"apply-test-{domain}-{attempt}")["HostedZone"]
        zone_id = zone["Id"].split("/")[-1]
        if zone_id.startswith("Z"):
            print(zone_id)
            return
        r53.delete_hosted_zone(Id=zone_id)
    sys.exit("the emulator gave no hosted zone ID starting with Z")


def changes(plan):
    out = []
    for rc in plan.get("resource_changes", []):
        actions = rc["change"]["actions"]
        if actions not in (["no-op"], ["read"]):
            out.append((",".join(actions), rc["address"], rc))
    return out


def plan_changes(path):
    with open(path) as f:
        plan = json.load(f)
    for actions, address, _ in changes(plan):
        print(f"{actions} {address}")


def arc_mode_plan(path):
    with open(path) as f:
        plan = json.load(f)
    problems = []
    by_address = {address: (actions, rc) for actions, address, rc in changes(plan)}
    td = by_address.get('module.app["gateway"].aws_ecs_task_definition.this')
    if td is None:
        problems.append("the gateway's task definition does not change")
    else:
        actions, rc = td
        if "create" not in actions.split(","):
            problems.append(f"the gateway's task definition is not replaced ({actions})")
        after = rc["change"]["after"] or {}
        env = {}
        for c in json.loads(after.get("container_definitions") or "[]"):
            env.update({e["name"]: e["value"] for e in c.get("environment", [])})
        if env.get("GATEWAY_FAILOVER_MODE") != "arc" or "ARC_CLUSTER_JSON" not in env:
            problems.append(f"the new task definition's environment is not arc mode: {sorted(env)}")
        if "SERVICE1_URL" in env:
            problems.append("the new task definition still calls the failover hostnames (SERVICE1_URL)")
    policy = by_address.get('module.app["gateway"].aws_iam_role_policy.task[0]')
    if policy is None or "create" not in policy[0].split(","):
        problems.append("the gateway's task role gets no routing-control read policy")
    others = [a for a in by_address if not a.startswith('module.app["gateway"]')]
    if others:
        problems.append(f"arc mode changes more than the gateway: {others}")
    for p in problems:
        print(f"arc-mode plan: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


def inventory(regions):
    """Everything the roots create, as the emulator lists it. Empty output: nothing left."""
    left = []
    for region in regions:
        ec2 = client("ec2", region)
        left += [f"{region} vpc {v['VpcId']}" for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
        left += [f"{region} nat-gateway {n['NatGatewayId']}" for n in ec2.describe_nat_gateways()["NatGateways"]
                 if n.get("State") not in ("deleted", "deleting")]
        left += [f"{region} eip {a['AllocationId']}" for a in ec2.describe_addresses()["Addresses"]]
        left += [f"{region} vpc-endpoint {e['VpcEndpointId']}" for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
                 if e.get("State", "").lower() not in ("deleted", "deleting")]
        left += [f"{region} flow-log {f['FlowLogId']}" for f in ec2.describe_flow_logs()["FlowLogs"]]
        left += [f"{region} load-balancer {lb['LoadBalancerName']}"
                 for lb in client("elbv2", region).describe_load_balancers()["LoadBalancers"]]
        left += [f"{region} target-group {tg['TargetGroupName']}"
                 for tg in client("elbv2", region).describe_target_groups()["TargetGroups"]]
        ecs = client("ecs", region)
        for arn in ecs.list_clusters()["clusterArns"]:
            c = ecs.describe_clusters(clusters=[arn])["clusters"][0]
            if c["status"] == "ACTIVE":
                left.append(f"{region} ecs-cluster {c['clusterName']}")
        left += [f"{region} task-definition {arn}"
                 for arn in ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]]
        left += [f"{region} ecr-repository {r['repositoryName']}"
                 for r in client("ecr", region).describe_repositories()["repositories"]]
        left += [f"{region} log-group {g['logGroupName']}"
                 for g in client("logs", region).describe_log_groups()["logGroups"]]
        kms = client("kms", region)
        for k in kms.list_keys()["Keys"]:
            meta = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
            if meta["KeyState"] not in ("PendingDeletion",) and meta.get("KeyManager") == "CUSTOMER":
                left.append(f"{region} kms-key {k['KeyId']} ({meta['KeyState']})")
        left += [f"{region} kms-alias {a['AliasName']}" for a in kms.list_aliases()["Aliases"]
                 if not a["AliasName"].startswith("alias/aws/")]
        left += [f"{region} certificate {c['DomainName']}"
                 for c in client("acm", region).list_certificates()["CertificateSummaryList"]]
        aas = client("application-autoscaling", region)
        left += [f"{region} scalable-target {t['ResourceId']}"
                 for t in aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]]
        left += [f"{region} scaling-policy {p['PolicyName']}"
                 for p in aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]]
    left += [f"s3-bucket {b['Name']}" for b in client("s3").list_buckets()["Buckets"]]
    iam = client("iam")
    left += [f"iam-role {r['RoleName']}" for r in iam.list_roles()["Roles"]
             if not r["Path"].startswith("/aws-service-role/")]
    left += [f"iam-oidc-provider {p['Arn']}" for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    r53 = client("route53")
    left += [f"route53-health-check {h['Id']}" for h in r53.list_health_checks()["HealthChecks"]]
    for zone in r53.list_hosted_zones()["HostedZones"]:
        for rr in r53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]:
            if rr["Type"] not in ("NS", "SOA"):
                left.append(f"route53-record {rr['Type']} {rr['Name']} {rr.get('SetIdentifier', '')}".rstrip())
    for line in left:
        print(line)


def validation_records(zone_id):
    r53 = client("route53")
    for rr in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]:
        values = [r["Value"] for r in rr.get("ResourceRecords", [])]
        if rr["Type"] == "CNAME" and any(v.rstrip(".").endswith("acm-validations.aws") for v in values):
            print(rr["Name"])


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "hosted-zone":
        hosted_zone(args[0])
    elif cmd == "plan-changes":
        plan_changes(args[0])
    elif cmd == "arc-mode-plan":
        arc_mode_plan(args[0])
    elif cmd == "validation-records":
        validation_records(args[0])
    elif cmd == "inventory":
        inventory(args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
