# Optional: the role the GitHub Actions deploy workflow (.github/workflows/deploy.yml) assumes through OIDC,
# allowed to push images to the deployment's ECR repositories, roll out its ECS services in var.deploy_regions and
# read (never change) the routing controls. No long-lived keys. Created only when var.github_repository is set.
#
# Only the default branch's deploy job in the deploy environment gets in: the trust policy requires the subject
# repo:<repository>:environment:<environment>:ref:refs/heads/<branch>. GitHub's default subject of a job with an
# environment carries no branch, so the repository must use the customised subject template with the claims repo,
# context and ref (infra/README.md, "Deployment pipeline").

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  create_deploy_role = var.github_repository != null
  account_id         = data.aws_caller_identity.current.account_id
  partition          = data.aws_partition.current.partition
  github_oidc_url    = "https://token.actions.githubusercontent.com"
  # Subject of the deploy job's token with the repository's customised subject template (claims repo, context, ref).
  github_oidc_subject = "repo:${coalesce(var.github_repository, "-")}:environment:${var.github_environment}:ref:refs/heads/${var.github_branch}"
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
  description          = "Assumed by the deploy workflow of ${var.github_repository} (environment ${var.github_environment}, branch ${var.github_branch})"
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
          "token.actions.githubusercontent.com:sub" = local.github_oidc_subject
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
        # The render action copies the task definition's tags into the new revision, and RegisterTaskDefinition with
        # tags is also authorised as ecs:TagResource. Only as part of that call: this grants no tagging of existing
        # resources.
        Sid      = "TagTaskDefinitionsOnRegister"
        Effect   = "Allow"
        Action   = ["ecs:TagResource"]
        Resource = [for r in var.deploy_regions : "arn:${local.partition}:ecs:${r}:${local.account_id}:task-definition/${var.cluster_name}-*:*"]
        Condition = {
          StringEquals = { "ecs:CreateAction" = "RegisterTaskDefinition" }
        }
      },
      {
        Sid      = "RollOutServices"
        Effect   = "Allow"
        Action   = ["ecs:DescribeServices", "ecs:UpdateService"]
        Resource = [for r in var.deploy_regions : "arn:${local.partition}:ecs:${r}:${local.account_id}:service/${var.cluster_name}/*"]
      },
      {
        # The pipeline reads which region of an app is active (failover status: ListRoutingControls per control
        # panel). The action has no resource type in IAM, so it names "*"; it is read-only, and the role may not
        # update any routing control.
        Sid      = "ReadRoutingControls"
        Effect   = "Allow"
        Action   = ["route53-recovery-cluster:ListRoutingControls"]
        Resource = "*"
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
