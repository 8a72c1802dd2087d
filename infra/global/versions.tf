terraform {
  required_version = ">= 1.9" # a validation that compares two variables

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100.0" # the release the tests and the committed lock files cover
    }
  }
}

# The Route 53 ARC configuration API (clusters, control panels, routing controls, safety rules) lives in
# us-west-2 only; Route 53 and IAM are global, so one provider in us-west-2 serves the whole root.
provider "aws" {
  region = "us-west-2"

  default_tags {
    tags = merge(var.tags, {
      Project   = var.cluster_name
      Stack     = "global"
      ManagedBy = "terraform"
    })
  }
}
