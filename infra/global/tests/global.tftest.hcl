# Offline tests of the global root: the AWS provider is mocked (infra/tests/mocks), nothing is created.

mock_provider "aws" {
  source = "../tests/mocks"
}

override_resource {
  target = aws_iam_role.readiness
  values = {
    arn = "arn:aws:iam::123456789012:role/mrapi-github-readiness"
  }
}

override_resource {
  target = aws_iam_role.failover
  values = {
    arn = "arn:aws:iam::123456789012:role/mrapi-github-failover"
  }
}

override_resource {
  target = aws_iam_role.deploy
  values = {
    arn = "arn:aws:iam::123456789012:role/mrapi-github-deploy"
  }
}

# Distinct ARNs for service1's controls, so the tests can tell the regions apart.
override_resource {
  target = module.arc_app["service1"].aws_route53recoverycontrolconfig_routing_control.this["primary"]
  values = {
    arn = "arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/aaaa"
  }
}

override_resource {
  target = module.arc_app["service1"].aws_route53recoverycontrolconfig_routing_control.this["secondary"]
  values = {
    arn = "arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/bbbb"
  }
}

# Every input the assertions depend on is set here, so a local terraform.tfvars cannot change the outcome.
variables {
  domain_name       = "example.com"
  hosted_zone_id    = "Z0123456789ABCDEFGHIJ"
  cluster_name      = "mrapi"
  github_repository = null
  apps = {
    external-api = { hostname_label = "externalapi" }
    service1     = { hostname_label = "service1" }
    service2     = { hostname_label = "service2" }
  }
  regional_load_balancers = {
    us-east-1 = { dns_name = "mrapi-1.us-east-1.elb.amazonaws.com", zone_id = "Z35SXDOTRQ7X7K" }
    us-west-2 = { dns_name = "mrapi-2.us-west-2.elb.amazonaws.com", zone_id = "Z1H1FL5HABSF5" }
  }
}

run "default_wiring" {
  assert {
    condition     = toset(keys(module.arc_app)) == toset(["external-api", "service1", "service2"])
    error_message = "Expected one control panel per app."
  }

  assert {
    condition = alltrue([for name, rcs in output.routing_controls :
      toset(keys(rcs)) == toset(["us-east-1", "us-west-2"]) &&
      rcs["us-east-1"].name == "${name}-primary-rc" &&
      rcs["us-west-2"].name == "${name}-secondary-rc"
    ])
    error_message = "Each app needs two routing controls, <app>-primary-rc in us-east-1 and <app>-secondary-rc in us-west-2."
  }

  assert {
    condition     = alltrue([for name, hcs in output.health_check_ids : length(hcs) == 2 && alltrue([for id in values(hcs) : id != null && id != ""])])
    error_message = "Each routing control needs a health check."
  }

  assert {
    condition = alltrue([for name, recs in output.failover_records :
      recs["PRIMARY"].region == "us-east-1" && recs["PRIMARY"].alias_dns_name == "mrapi-1.us-east-1.elb.amazonaws.com" &&
      recs["SECONDARY"].region == "us-west-2" && recs["SECONDARY"].alias_dns_name == "mrapi-2.us-west-2.elb.amazonaws.com"
    ])
    error_message = "PRIMARY must point at the primary region's load balancer and SECONDARY at the other."
  }

  assert {
    condition     = alltrue([for name, recs in output.failover_records : recs["PRIMARY"].health_check_id == output.health_check_ids[name]["us-east-1"] && recs["SECONDARY"].health_check_id == output.health_check_ids[name]["us-west-2"]])
    error_message = "Each failover record must carry the health check of its own region's routing control."
  }

  assert {
    condition     = length(output.safety_rules) == 3 && alltrue([for arn in values(output.safety_rules) : startswith(arn, "arn:aws:route53-recovery-control::")])
    error_message = "Expected one safety rule per control panel."
  }

  assert {
    condition     = output.hostnames == { external-api = "externalapi.example.com", service1 = "service1.example.com", service2 = "service2.example.com" }
    error_message = "Hostnames are externalapi, service1 and service2 under the domain."
  }

  assert {
    condition     = output.deploy_role_arn == null && output.readiness_role_arn == null && output.failover_role_arn == null
    error_message = "No deployment, readiness or failover role without github_repository."
  }
}

run "cluster_document_shape" {
  assert {
    condition     = keys(jsondecode(output.cluster_document)) == ["apps", "cluster_arn", "endpoints", "version"]
    error_message = "The cluster document has exactly version, cluster_arn, endpoints and apps."
  }

  assert {
    condition     = jsondecode(output.cluster_document).version == 1 && jsondecode(output.cluster_document).cluster_arn == "arn:aws:route53-recovery-control::123456789012:cluster/0123abcd"
    error_message = "version is 1 and cluster_arn is the cluster's ARN."
  }

  assert {
    condition = length(jsondecode(output.cluster_document).endpoints) == 5 && alltrue([
      for e in jsondecode(output.cluster_document).endpoints : keys(e) == ["region", "url"] && startswith(e.url, "https://")
    ])
    error_message = "endpoints lists the five regional endpoints as {region, url}."
  }

  assert {
    condition     = jsondecode(output.cluster_document).endpoints[0] == { region = "us-east-1", url = "https://host-aaaa.route53-recovery-cluster.us-east-1.amazonaws.com/v1" }
    error_message = "Endpoints come from the cluster's cluster_endpoints."
  }

  assert {
    condition     = keys(jsondecode(output.cluster_document).apps) == ["external-api", "service1", "service2"]
    error_message = "apps is keyed by external-api, service1 and service2."
  }

  assert {
    condition = alltrue([for name, app in jsondecode(output.cluster_document).apps :
      keys(app) == ["control_panel_arn", "control_panel_name", "hostname", "primary_region", "regions", "safety_rules", "secondary_region"] &&
      app.control_panel_name == name &&
      keys(app.regions) == ["us-east-1", "us-west-2"] &&
      alltrue([for region, r in app.regions : keys(r) == ["routing_control_arn", "routing_control_name", "url"]])
    ])
    error_message = "Each app entry has the fields of docs/cluster.md and one entry per region."
  }

  assert {
    condition = jsondecode(output.cluster_document).apps["external-api"] == {
      hostname           = "externalapi.example.com"
      control_panel_arn  = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111"
      control_panel_name = "external-api"
      primary_region     = "us-east-1"
      secondary_region   = "us-west-2"
      regions = {
        us-east-1 = {
          routing_control_arn  = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/0000"
          routing_control_name = "external-api-primary-rc"
          url                  = "https://externalapi.us-east-1.example.com"
        }
        us-west-2 = {
          routing_control_arn  = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/0000"
          routing_control_name = "external-api-secondary-rc"
          url                  = "https://externalapi.us-west-2.example.com"
        }
      }
      safety_rules = [{
        kind              = "assertion"
        name              = "external-api-at-least-one-on"
        arn               = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/safetyrule/9999"
        asserted_controls = ["arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/0000", "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/0000"]
        rule_config       = { type = "ATLEAST", threshold = 1, inverted = false }
        wait_period_ms    = 5000
      }]
    }
    error_message = "The external-api entry does not match docs/cluster.md."
  }

  assert {
    condition = (
      jsondecode(output.cluster_document).apps["service1"].regions["us-east-1"].routing_control_arn == "arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/aaaa" &&
      jsondecode(output.cluster_document).apps["service1"].regions["us-west-2"].routing_control_arn == "arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/bbbb"
    )
    error_message = "Each region's entry names that region's routing control."
  }

  # failover check evaluates an activate against these (crates/recovery's SafetyRule): without them it can only
  # report "no safety rules in the cluster document".
  assert {
    condition = jsonencode(jsondecode(output.cluster_document).apps["service1"].safety_rules) == jsonencode([{
      arn               = "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/safetyrule/9999"
      asserted_controls = ["arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/aaaa", "arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/bbbb"]
      kind              = "assertion"
      name              = "service1-at-least-one-on"
      rule_config       = { inverted = false, threshold = 1, type = "ATLEAST" }
      wait_period_ms    = 5000
    }])
    error_message = "Each app's entry carries its panel's safety rule: kind assertion, ATLEAST 1 of its two routing controls, the wait period."
  }

  assert {
    condition     = toset(output.gateway_routing_control_arns) == toset(["arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/aaaa", "arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/bbbb", "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/0000"]) && length(output.gateway_routing_control_arns) == 4
    error_message = "The gateway follows service1's and service2's four routing controls."
  }
}

# The rehearsal scenario of the original: service2 starts in us-west-2.
run "per_app_primary_region" {
  variables {
    apps = {
      external-api = { hostname_label = "externalapi" }
      service1     = { hostname_label = "service1" }
      service2     = { hostname_label = "service2", primary_region = "us-west-2", secondary_region = "us-east-1" }
    }
  }

  assert {
    condition     = output.failover_records["service2"]["PRIMARY"].alias_dns_name == "mrapi-2.us-west-2.elb.amazonaws.com" && output.failover_records["service2"]["SECONDARY"].alias_dns_name == "mrapi-1.us-east-1.elb.amazonaws.com"
    error_message = "service2's PRIMARY record must point at us-west-2."
  }

  assert {
    condition     = output.failover_records["service1"]["PRIMARY"].alias_dns_name == "mrapi-1.us-east-1.elb.amazonaws.com"
    error_message = "service1 keeps us-east-1 as primary."
  }

  assert {
    condition     = output.routing_controls["service2"]["us-west-2"].name == "service2-primary-rc" && jsondecode(output.cluster_document).apps["service2"].primary_region == "us-west-2"
    error_message = "service2's primary routing control lives in us-west-2."
  }
}

run "deploy_role" {
  variables {
    github_repository = "example-org/example-api"
  }

  assert {
    condition     = output.deploy_role_arn == "arn:aws:iam::123456789012:role/mrapi-github-deploy"
    error_message = "The deployment role is created for the repository."
  }

  assert {
    condition     = jsondecode(aws_iam_role.deploy[0].assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == "repo:example-org/example-api:environment:production:ref:refs/heads/main"
    error_message = "Only the repository's production environment on the default branch may assume the role."
  }

  assert {
    condition     = length(jsondecode(aws_iam_role.deploy[0].assume_role_policy).Statement) == 1 && keys(jsondecode(aws_iam_role.deploy[0].assume_role_policy).Statement[0].Condition) == ["StringEquals"]
    error_message = "The trust policy has one statement with exact (StringEquals) conditions only: no wildcard subject."
  }

  # RegisterTaskDefinition with the tags the render action copies is also authorised as ecs:TagResource.
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.deploy[0].policy).Statement : s if contains(flatten([s.Action]), "ecs:TagResource")]) == {
      Sid       = "TagTaskDefinitionsOnRegister"
      Effect    = "Allow"
      Action    = ["ecs:TagResource"]
      Resource  = ["arn:aws:ecs:us-east-1:123456789012:task-definition/mrapi-*:*", "arn:aws:ecs:us-west-2:123456789012:task-definition/mrapi-*:*"]
      Condition = { StringEquals = { "ecs:CreateAction" = "RegisterTaskDefinition" } }
    }
    error_message = "The role may tag task definitions, of the deployment's families only, and only while registering them (ecs:CreateAction = RegisterTaskDefinition)."
  }

  assert {
    condition     = contains(flatten([for s in jsondecode(aws_iam_role_policy.deploy[0].policy).Statement : s.Action if s.Sid == "TaskDefinitions"]), "ecs:RegisterTaskDefinition")
    error_message = "The role registers task definitions."
  }

  # The pipeline reads the live routing-control states (failover status) and may change none.
  assert {
    condition = (
      contains(flatten([for s in jsondecode(aws_iam_role_policy.deploy[0].policy).Statement : s.Action]), "route53-recovery-cluster:ListRoutingControls") &&
      alltrue([for a in flatten([for s in jsondecode(aws_iam_role_policy.deploy[0].policy).Statement : s.Action]) : !startswith(a, "route53-recovery-cluster:Update")])
    )
    error_message = "The role lists routing controls and may not update them."
  }

  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.deploy[0].policy).Statement : s.Resource if s.Sid == "PushImages"])) == toset([
      "arn:aws:ecr:us-east-1:123456789012:repository/mrapi/*",
      "arn:aws:ecr:us-west-2:123456789012:repository/mrapi/*",
    ])
    error_message = "The role may push to the deployment's repositories in both regions only."
  }

  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.deploy[0].policy).Statement : s.Resource if s.Sid == "PassTaskRoles"])) == toset([
      "arn:aws:iam::123456789012:role/mrapi-*-execution",
      "arn:aws:iam::123456789012:role/mrapi-*-task",
    ])
    error_message = "The role may pass only the apps' execution and task roles."
  }
}

run "deploy_role_other_branch" {
  variables {
    github_repository = "example-org/example-api"
    github_branch     = "trunk"
  }

  assert {
    condition     = jsondecode(aws_iam_role.deploy[0].assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == "repo:example-org/example-api:environment:production:ref:refs/heads/trunk"
    error_message = "github_branch names the one branch whose deploy jobs may assume the role."
  }
}

run "rejects_bad_inputs" {
  command = plan

  variables {
    domain_name = "Example.COM"
    regional_load_balancers = {
      us-east-1 = { dns_name = "mrapi-1.us-east-1.elb.amazonaws.com", zone_id = "Z35SXDOTRQ7X7K" }
    }
  }

  expect_failures = [var.domain_name, var.regional_load_balancers]
}

# What modules/arc-app trusts its caller to have checked: two different regions, each with a load balancer.
run "rejects_an_app_in_one_region" {
  command = plan

  variables {
    apps = {
      service1 = { hostname_label = "service1", primary_region = "us-east-1", secondary_region = "us-east-1" }
    }
  }

  expect_failures = [var.apps]
}

run "rejects_an_app_in_a_region_without_load_balancer" {
  command = plan

  variables {
    apps = {
      service1 = { hostname_label = "service1", primary_region = "us-east-1", secondary_region = "eu-west-1" }
    }
  }

  expect_failures = [var.apps]
}

# The regional roots' cluster_document_ecs outputs: the external API's service is gateway in the regions and
# external-api in the global root (matched by hostname_label); service2 has no entry in us-west-2.
run "cluster_document_ecs" {
  variables {
    regional_ecs_services = {
      us-east-1 = {
        gateway  = { hostname_label = "externalapi", cluster = "mrapi", service = "gateway", target_group_arns = ["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/mrapi-gateway/1111111111111111"] }
        service1 = { hostname_label = "service1", cluster = "mrapi", service = "service1", target_group_arns = ["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/mrapi-service1/2222222222222222"] }
        service2 = { hostname_label = "service2", cluster = "mrapi", service = "service2", target_group_arns = ["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/mrapi-service2/3333333333333333"] }
      }
      us-west-2 = {
        gateway  = { hostname_label = "externalapi", cluster = "mrapi", service = "gateway", target_group_arns = ["arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/mrapi-gateway/4444444444444444"] }
        service1 = { hostname_label = "service1", cluster = "mrapi", service = "service1", target_group_arns = ["arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/mrapi-service1/5555555555555555"] }
      }
    }
  }

  assert {
    condition = jsonencode(jsondecode(output.cluster_document).apps["external-api"].regions["us-west-2"].ecs) == jsonencode({
      cluster           = "mrapi"
      service           = "gateway"
      target_group_arns = ["arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/mrapi-gateway/4444444444444444"]
    })
    error_message = "external-api's ecs block in us-west-2 is the regional gateway service, {cluster, service, target_group_arns} only."
  }

  assert {
    condition = alltrue([for name, app in jsondecode(output.cluster_document).apps : alltrue([for region, r in app.regions :
      name == "service2" && region == "us-west-2" ? keys(r) == ["routing_control_arn", "routing_control_name", "url"] : (
        keys(r) == ["ecs", "routing_control_arn", "routing_control_name", "url"] && keys(r.ecs) == ["cluster", "service", "target_group_arns"] &&
        r.ecs.service == (name == "external-api" ? "gateway" : name) && strcontains(r.ecs.target_group_arns[0], ":${region}:")
      )
    ])])
    error_message = "Every app and region with a regional entry carries its own service's ecs block; service2 in us-west-2 (no entry) carries none."
  }
}

run "cluster_document_without_ecs" {
  assert {
    condition     = alltrue([for app in values(jsondecode(output.cluster_document).apps) : alltrue([for r in values(app.regions) : !contains(keys(r), "ecs")])])
    error_message = "Without regional_ecs_services the document has no ecs block."
  }
}

run "readiness_role" {
  variables {
    github_repository = "example-org/example-api"
  }

  assert {
    condition     = output.readiness_role_arn == "arn:aws:iam::123456789012:role/mrapi-github-readiness"
    error_message = "The readiness role is created with the deployment role."
  }

  assert {
    condition = jsondecode(aws_iam_role.readiness[0].assume_role_policy) == {
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Principal = { Federated = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
            "token.actions.githubusercontent.com:sub" = "repo:example-org/example-api:environment:readiness:ref:refs/heads/main"
          }
        }
      }]
    }
    error_message = "Only the repository's readiness environment on the default branch may assume the role, with exact conditions."
  }

  assert {
    condition = sort(flatten([for s in jsondecode(aws_iam_role_policy.readiness[0].policy).Statement : s.Action])) == sort([
      "ecs:DescribeServices",
      "elasticloadbalancing:DescribeTargetHealth",
      "route53-recovery-cluster:ListRoutingControls",
    ])
    error_message = "The readiness role may call exactly what failover check calls: ListRoutingControls, DescribeServices, DescribeTargetHealth."
  }

  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.readiness[0].policy).Statement : s.Effect == "Allow" && !contains(keys(s), "NotAction") && !contains(keys(s), "NotResource")])
    error_message = "The readiness policy only allows, with Action and Resource."
  }

  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.readiness[0].policy).Statement : s.Resource if s.Sid == "DescribeServices"])) == toset([
      "arn:aws:ecs:us-east-1:123456789012:service/mrapi/*",
      "arn:aws:ecs:us-west-2:123456789012:service/mrapi/*",
    ])
    error_message = "The readiness role may describe the deployment's ECS services in the apps' regions only."
  }
}

run "readiness_role_other_environment" {
  variables {
    github_repository            = "example-org/example-api"
    github_readiness_environment = "checks"
    github_branch                = "trunk"
  }

  assert {
    condition     = jsondecode(aws_iam_role.readiness[0].assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == "repo:example-org/example-api:environment:checks:ref:refs/heads/trunk"
    error_message = "github_readiness_environment and github_branch name the one environment and branch whose jobs may assume the role."
  }
}

run "no_readiness_role" {
  variables {
    github_repository            = "example-org/example-api"
    github_readiness_environment = null
  }

  assert {
    condition     = output.readiness_role_arn == null && output.deploy_role_arn != null
    error_message = "github_readiness_environment = null creates the deployment role only."
  }
}

run "rejects_bad_ecs_services" {
  command = plan

  variables {
    regional_ecs_services = {
      us-east-1 = {
        gateway = { hostname_label = "externalapi", cluster = "mrapi", service = "gateway", target_group_arns = ["tg-1"] }
      }
    }
  }

  expect_failures = [var.regional_ecs_services]
}

run "rejects_a_hostname_label_twice_in_a_region" {
  command = plan

  variables {
    regional_ecs_services = {
      us-east-1 = {
        gateway  = { hostname_label = "service1", cluster = "mrapi", service = "gateway", target_group_arns = [] }
        service1 = { hostname_label = "service1", cluster = "mrapi", service = "service1", target_group_arns = [] }
      }
    }
  }

  expect_failures = [var.regional_ecs_services]
}

# The evacuate workflow's role: exactly what `failover evacuate` calls (gate, scale, activate), the routing controls
# of this cluster only and never with a safety-rule override.
run "failover_role" {
  variables {
    github_repository = "example-org/example-api"
  }

  assert {
    condition     = output.failover_role_arn == "arn:aws:iam::123456789012:role/mrapi-github-failover" && aws_iam_role.failover[0].name == "mrapi-github-failover"
    error_message = "The failover role is created with the deployment role."
  }

  assert {
    condition = jsondecode(aws_iam_role.failover[0].assume_role_policy) == {
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Principal = { Federated = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
            "token.actions.githubusercontent.com:sub" = "repo:example-org/example-api:environment:failover:ref:refs/heads/main"
          }
        }
      }]
    }
    error_message = "Only the repository's failover environment on the default branch may assume the role, with exact conditions."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.failover[0].policy).Statement == [
      {
        Sid      = "ListRoutingControls"
        Effect   = "Allow"
        Action   = ["route53-recovery-cluster:ListRoutingControls"]
        Resource = "*"
      },
      {
        Sid    = "UpdateThisClustersRoutingControls"
        Effect = "Allow"
        Action = ["route53-recovery-cluster:UpdateRoutingControlState", "route53-recovery-cluster:UpdateRoutingControlStates"]
        Resource = [
          "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/0000",
          "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/0000",
          "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/0000",
          "arn:aws:route53-recovery-control::123456789012:controlpanel/1111/routingcontrol/0000",
          "arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/aaaa",
          "arn:aws:route53-recovery-control::123456789012:controlpanel/2222/routingcontrol/bbbb",
        ]
        Condition = { BoolIfExists = { "route53-recovery-cluster:AllowSafetyRulesOverrides" = "false" } }
      },
      {
        Sid      = "DescribeAndScaleServices"
        Effect   = "Allow"
        Action   = ["ecs:DescribeServices", "ecs:UpdateService"]
        Resource = ["arn:aws:ecs:us-east-1:123456789012:service/mrapi/*", "arn:aws:ecs:us-west-2:123456789012:service/mrapi/*"]
      },
      {
        Sid      = "DescribeTargetHealth"
        Effect   = "Allow"
        Action   = ["elasticloadbalancing:DescribeTargetHealth"]
        Resource = "*"
      },
      {
        Sid      = "DescribeScalableTargets"
        Effect   = "Allow"
        Action   = ["application-autoscaling:DescribeScalableTargets"]
        Resource = "*"
      },
      {
        Sid      = "RaiseAutoscalingMinimum"
        Effect   = "Allow"
        Action   = ["application-autoscaling:RegisterScalableTarget"]
        Resource = ["arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/*", "arn:aws:application-autoscaling:us-west-2:123456789012:scalable-target/*"]
      },
    ]
    error_message = "The failover role may list routing controls, update this cluster's without overriding a safety rule, describe and update the deployment's ECS services in both regions, read target health, and describe and register scalable targets: nothing else."
  }

  assert {
    condition     = !strcontains(aws_iam_role_policy.failover[0].policy, "iam:") && !strcontains(aws_iam_role_policy.failover[0].policy, "SafetyRulesOverrides\":\"true")
    error_message = "The failover role passes no role and never overrides a safety rule."
  }
}

run "failover_role_other_environment" {
  variables {
    github_repository           = "example-org/example-api"
    github_failover_environment = "dr"
    github_branch               = "trunk"
    apps = {
      service1 = { hostname_label = "service1", primary_region = "us-west-2", secondary_region = "eu-west-1" }
    }
    regional_load_balancers = {
      us-west-2 = { dns_name = "mrapi-2.us-west-2.elb.amazonaws.com", zone_id = "Z1H1FL5HABSF5" }
      eu-west-1 = { dns_name = "mrapi-3.eu-west-1.elb.amazonaws.com", zone_id = "Z32O12XQLNTSW2" }
    }
  }

  assert {
    condition     = jsondecode(aws_iam_role.failover[0].assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == "repo:example-org/example-api:environment:dr:ref:refs/heads/trunk"
    error_message = "github_failover_environment and github_branch name the one environment and branch whose jobs may assume the role."
  }

  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.failover[0].policy).Statement : s.Resource if s.Sid == "DescribeAndScaleServices"])) == toset([
      "arn:aws:ecs:eu-west-1:123456789012:service/mrapi/*",
      "arn:aws:ecs:us-west-2:123456789012:service/mrapi/*",
    ])
    error_message = "The failover role scales the deployment's services in the apps' regions."
  }
}

run "no_failover_role" {
  variables {
    github_repository           = "example-org/example-api"
    github_failover_environment = null
  }

  assert {
    condition     = output.failover_role_arn == null && output.deploy_role_arn != null && output.readiness_role_arn != null
    error_message = "github_failover_environment = null creates no failover role."
  }
}
