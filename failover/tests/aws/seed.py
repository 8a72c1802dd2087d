#!/usr/bin/env python3
"""Seeds moto's server with what `failover check` and the `scale` step read: per region an ECS cluster
`prod` with a service per app and an ALB target group per app, then prints the ARNs as JSON.

    seed.py ENDPOINT_URL create APP:REGION:DESIRED:TARGETS ...   create services and register TARGETS ip targets
    seed.py ENDPOINT_URL targets TARGET_GROUP_ARN REGION COUNT   register COUNT more ip targets
    seed.py ENDPOINT_URL desired APP REGION COUNT                 set the service's desired (and running) count
    seed.py ENDPOINT_URL read APP REGION                          print desired count and autoscaling min/max

Used by failover/tests/check_aws.rs; credentials and endpoint are moto's, nothing leaves 127.0.0.1.
"""

import json
import sys

import boto3


def client(service, endpoint, region):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def register(endpoint, region, tg_arn, start, count):
    elb = client("elbv2", endpoint, region)
    if count:
        elb.register_targets(
            TargetGroupArn=tg_arn,
            Targets=[{"Id": f"10.0.1.{start + i}", "Port": 8080} for i in range(count)],
        )


def create(endpoint, specs):
    out = {}
    vpcs = {}
    for spec in specs:
        app, region, desired, targets = spec.split(":")
        ec2 = client("ec2", endpoint, region)
        if region not in vpcs:
            vpcs[region] = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            ecs = client("ecs", endpoint, region)
            ecs.create_cluster(clusterName="prod")
            ecs.register_task_definition(
                family="app",
                networkMode="awsvpc",
                requiresCompatibilities=["FARGATE"],
                cpu="256",
                memory="512",
                containerDefinitions=[{"name": "app", "image": "app:1", "essential": True}],
            )
        ecs = client("ecs", endpoint, region)
        ecs.create_service(cluster="prod", serviceName=app, taskDefinition="app", desiredCount=0)
        if int(desired):
            # moto's UpdateService sets runningCount to the desired count; CreateService leaves it 0.
            ecs.update_service(cluster="prod", service=app, desiredCount=int(desired))
        elb = client("elbv2", endpoint, region)
        tg = elb.create_target_group(
            Name=f"{app}-{region}",
            Protocol="HTTP",
            Port=8080,
            VpcId=vpcs[region],
            TargetType="ip",
        )["TargetGroups"][0]["TargetGroupArn"]
        register(endpoint, region, tg, 0, int(targets))
        aas = client("application-autoscaling", endpoint, region)
        aas.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=f"service/prod/{app}",
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=int(desired),
            MaxCapacity=max(int(desired), 4),
        )
        out[f"{app}:{region}"] = tg
    print(json.dumps(out))


def main():
    endpoint, command, *rest = sys.argv[1:]
    if command == "create":
        create(endpoint, rest)
    elif command == "targets":
        tg, region, count = rest
        known = client("elbv2", endpoint, region).describe_target_health(TargetGroupArn=tg)
        register(endpoint, region, tg, 100 + len(known["TargetHealthDescriptions"]), int(count))
    elif command == "desired":
        app, region, count = rest
        client("ecs", endpoint, region).update_service(cluster="prod", service=app, desiredCount=int(count))
    elif command == "read":
        app, region = rest
        svc = client("ecs", endpoint, region).describe_services(cluster="prod", services=[app])["services"][0]
        target = client("application-autoscaling", endpoint, region).describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=[f"service/prod/{app}"]
        )["ScalableTargets"][0]
        print(json.dumps({
            "desired": svc["desiredCount"],
            "running": svc["runningCount"],
            "min": target["MinCapacity"],
            "max": target["MaxCapacity"],
        }))
    else:
        sys.exit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
