# Optional: the read-only role the scheduled readiness workflow (.github/workflows/readiness.yml) assumes through
# OIDC to run `failover check`. Created with the deploy role (var.github_repository set) unless
# var.github_readiness_environment is null; it shares the account's GitHub OIDC provider (deploy_role.tf).
#
# It may do exactly what `failover check` calls: list the routing controls (ListRoutingControls per control panel),
# describe the deployment's ECS services and read their target groups' health. Nothing else, and nothing that
# changes anything: no routing-control update, no scaling (the plans' scale step needs a deployment role).
#
# Only the default branch's readiness job in its environment gets in: the subject
# repo:<repository>:environment:<environment>:ref:refs/heads/<branch>, with the customised subject template the
# deploy role already needs (infra/README.md, "Deployment pipeline").

locals {
  create_readiness_role = local.create_deploy_role && var.github_readiness_environment != null
  readiness_oidc_subject = (
    "repo:${coalesce(var.github_repository, "-")}:environment:${coalesce(var.github_readiness_environment, "-")}:ref:refs/heads/${var.github_branch}"
  )
  # The regions the apps run in: where the readiness check reads ECS services.
  app_regions = sort(distinct(flatten([for a in values(var.apps) : [a.primary_region, a.secondary_region]])))
}

resource "aws_iam_role" "readiness" {
  count = local.create_readiness_role ? 1 : 0

  name                 = "${var.cluster_name}-github-readiness"
  description          = "Read-only: assumed by the readiness workflow of ${var.github_repository} (environment ${coalesce(var.github_readiness_environment, "-")}, branch ${var.github_branch})"
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
          "token.actions.githubusercontent.com:sub" = local.readiness_oidc_subject
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "readiness" {
  count = local.create_readiness_role ? 1 : 0

  name = "failover-check-read-only"
  role = aws_iam_role.readiness[0].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # The action has no resource type in IAM (a statement naming routing-control ARNs never matches it), so
        # it names "*"; it is read-only.
        Sid      = "ListRoutingControls"
        Effect   = "Allow"
        Action   = ["route53-recovery-cluster:ListRoutingControls"]
        Resource = "*"
      },
      {
        Sid      = "DescribeServices"
        Effect   = "Allow"
        Action   = ["ecs:DescribeServices"]
        Resource = [for r in local.app_regions : "arn:${local.partition}:ecs:${r}:${local.account_id}:service/${var.cluster_name}/*"]
      },
      {
        # Elastic Load Balancing's Describe* actions take no resource-level permissions; read-only.
        Sid      = "DescribeTargetHealth"
        Effect   = "Allow"
        Action   = ["elasticloadbalancing:DescribeTargetHealth"]
        Resource = "*"
      },
    ]
  })
}
