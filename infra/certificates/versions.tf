terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100.0" # the release the tests and the committed lock files cover
    }
  }
}

# One provider per region of the deployment (ACM certificates are regional); Route 53 is global, so the first
# region's provider writes the validation records.
provider "aws" {
  alias  = "first"
  region = var.regions[0]

  default_tags {
    tags = merge(var.tags, {
      Project   = var.name
      Stack     = "certificates"
      ManagedBy = "terraform"
    })
  }
}

provider "aws" {
  alias  = "second"
  region = var.regions[1]

  default_tags {
    tags = merge(var.tags, {
      Project   = var.name
      Stack     = "certificates"
      ManagedBy = "terraform"
    })
  }
}
