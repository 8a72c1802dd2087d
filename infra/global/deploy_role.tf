# Optional: the role the GitHub Actions deploy workflow (.github/workflows/deploy.yml) assumes through OIDC,
# allowed to push images to the deployment's ECR repositories and roll out its ECS services in var.deploy_regions.
# No long-lived keys. Created only when var.github_repository is set.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  create_deploy_role = var.github_repository != null
  account_id         = data.aws_caller_identity.current.account_id
  partition          = data.aws_partition.current.partition
  github_oidc_url    = "https://token.actions.githubusercontent.com"
  github_oidc_provider_arn = local.create_deploy_role ? (
    var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
  ) : null
}

resource "aws_iam_openid_connect_provider" "github" {
  count = local.create_deploy_role && var.create_github_oidc_provider ? 1 : 0

  url            = local.github_oidc_url
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = local.create_deploy_role && !var.create_github_oidc_provider ? 1 : 0

  url = local.github_oidc_url
}

resource "aws_iam_role" "deploy" {
  count = local.create_deploy_role ? 1 : 0

  name                 = "${var.cluster_name}-github-deploy"
  description          = "Assumed by the deploy workflow of ${var.github_repository} (environment ${var.github_environment})"
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
          "token.actions.githubusercontent.com:sub" = "repo:${var.github_repository}:environment:${var.github_environment}"
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "deploy" {
  count = local.create_deploy_role ? 1 : 0

  name = "push-images-roll-out-services"
  role = aws_iam_role.deploy[0].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "EcrAuthToken"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*" # no resource-level permissions for this action
      },
      {
        Sid    = "PushImages"
        Effect = "Allow"
        Action = [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:CompleteLayerUpload",
          "ecr:DescribeImages",
          "ecr:GetDownloadUrlForLayer",
          "ecr:InitiateLayerUpload",
          "ecr:PutImage",
          "ecr:UploadLayerPart",
        ]
        Resource = [for r in var.deploy_regions : "arn:${local.partition}:ecr:${r}:${local.account_id}:repository/${var.cluster_name}/*"]
      },
      {
        Sid      = "TaskDefinitions"
        Effect   = "Allow"
        Action   = ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]
        Resource = "*" # no resource-level permissions for these actions
      },
      {
        Sid      = "RollOutServices"
        Effect   = "Allow"
        Action   = ["ecs:DescribeServices", "ecs:UpdateService"]
        Resource = [for r in var.deploy_regions : "arn:${local.partition}:ecs:${r}:${local.account_id}:service/${var.cluster_name}/*"]
      },
      {
        Sid    = "PassTaskRoles"
        Effect = "Allow"
        Action = ["iam:PassRole"]
        Resource = [
          "arn:${local.partition}:iam::${local.account_id}:role/${var.cluster_name}-*-execution",
          "arn:${local.partition}:iam::${local.account_id}:role/${var.cluster_name}-*-task",
        ]
        Condition = {
          StringEquals = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" }
        }
      },
    ]
  })
}
