terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100.0" # the release the tests and the committed lock files cover
    }
  }
}
