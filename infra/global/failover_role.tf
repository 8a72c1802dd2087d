# Optional: the role the evacuate workflow (.github/workflows/evacuate.yml) assumes through OIDC to run
# `failover evacuate`: gate on the standby, scale its ECS services, move the routing controls. Created with the
# deploy role (var.github_repository set) unless var.github_failover_environment is null; it shares the account's
# GitHub OIDC provider (deploy_role.tf).
#
# It may do exactly what the built-in evacuate plan calls, and no more:
#   - gate:     ListRoutingControls (no resource type in IAM, so "*"), ecs:DescribeServices,
#               elasticloadbalancing:DescribeTargetHealth;
#   - scale:    application-autoscaling:DescribeScalableTargets (no resource-level permissions, so "*") and
#               RegisterScalableTarget (this account's scalable targets in the apps' regions), ecs:UpdateService
#               on the deployment's services (Application Auto Scaling also requires DescribeServices and
#               UpdateService on the ECS service it registers);
#   - activate: UpdateRoutingControlState(s) on this cluster's routing controls only, and only without overriding
#               a safety rule (route53-recovery-cluster:AllowSafetyRulesOverrides = false): a break-glass override
#               stays with a person holding broader credentials.
#
# Only the default branch's job in the failover environment (whose required reviewers approve each run) gets in:
# the subject repo:<repository>:environment:<environment>:ref:refs/heads/<branch>, with the customised subject
# template the deploy role already needs (infra/README.md, "Deployment pipeline").

locals {
  create_failover_role = local.create_deploy_role && var.github_failover_environment != null
  failover_oidc_subject = (
    "repo:${coalesce(var.github_repository, "-")}:environment:${coalesce(var.github_failover_environment, "-")}:ref:refs/heads/${var.github_branch}"
  )
  # Every routing control of this cluster: the only ones the role may change.
  routing_control_arns = sort(flatten([for app in values(module.arc_app) : [for rc in values(app.routing_controls) : rc.arn]]))
}

resource "aws_iam_role" "failover" {
  count = local.create_failover_role ? 1 : 0

  name                 = "${var.cluster_name}-github-failover"
  description          = "Evacuation: assumed by the evacuate workflow of ${var.github_repository} (environment ${coalesce(var.github_failover_environment, "-")}, branch ${var.github_branch})"
  max_session_duration = 3600

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.github_oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
          "token.actions.githubusercontent.com:sub" = local.failover_oidc_subject
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "failover" {
  count = local.create_failover_role ? 1 : 0

  name = "failover-evacuate"
  role = aws_iam_role.failover[0].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # No resource type in IAM: a statement naming routing-control ARNs never matches it. Read-only.
        Sid      = "ListRoutingControls"
        Effect   = "Allow"
        Action   = ["route53-recovery-cluster:ListRoutingControls"]
        Resource = "*"
      },
      {
        Sid      = "UpdateThisClustersRoutingControls"
        Effect   = "Allow"
        Action   = ["route53-recovery-cluster:UpdateRoutingControlState", "route53-recovery-cluster:UpdateRoutingControlStates"]
        Resource = local.routing_control_arns
        # BoolIfExists: a request that names no rule to override may come without the key; one that does must not
        # be allowed.
        Condition = {
          BoolIfExists = { "route53-recovery-cluster:AllowSafetyRulesOverrides" = "false" }
        }
      },
      {
        Sid      = "DescribeAndScaleServices"
        Effect   = "Allow"
        Action   = ["ecs:DescribeServices", "ecs:UpdateService"]
        Resource = [for r in local.app_regions : "arn:${local.partition}:ecs:${r}:${local.account_id}:service/${var.cluster_name}/*"]
      },
      {
        # Elastic Load Balancing's Describe* actions take no resource-level permissions; read-only.
        Sid      = "DescribeTargetHealth"
        Effect   = "Allow"
        Action   = ["elasticloadbalancing:DescribeTargetHealth"]
        Resource = "*"
      },
      {
        # No resource-level permissions; read-only.
        Sid      = "DescribeScalableTargets"
        Effect   = "Allow"
        Action   = ["application-autoscaling:DescribeScalableTargets"]
        Resource = "*"
      },
      {
        # A scalable target's ARN ends in an ID Application Auto Scaling assigns, not the service's name: the
        # statement names this account's targets in the apps' regions.
        Sid      = "RaiseAutoscalingMinimum"
        Effect   = "Allow"
        Action   = ["application-autoscaling:RegisterScalableTarget"]
        Resource = [for r in local.app_regions : "arn:${local.partition}:application-autoscaling:${r}:${local.account_id}:scalable-target/*"]
      },
    ]
  })
}
