terraform {
  required_version = ">= 1.9" # validations that compare two variables

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100.0" # the release the tests and the committed lock files cover
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project   = var.name
      Stack     = "region"
      Region    = var.region
      ManagedBy = "terraform"
    })
  }
}
