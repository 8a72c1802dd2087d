#!/usr/bin/env bash
# Pushes a locally built image to the app's ECR repository in each given region (skips a region that already has
# the tag: tags are immutable, and a re-run must not fail).
#
#   push-image.sh <app> <tag> <region>...
#
# Needs AWS credentials (any region) and NAME, the deployment name (repositories are <NAME>/<app>).
# Prints (and appends to $GITHUB_OUTPUT when set) image_<n>=<uri> for the n-th region, starting at 1.
set -euo pipefail

app=${1:?usage: push-image.sh <app> <tag> <region>...}
tag=${2:?usage: push-image.sh <app> <tag> <region>...}
shift 2
name=${NAME:?NAME (the deployment name) must be set}
repository="$name/$app"

account=$(aws sts get-caller-identity --query Account --output text)
n=0
for region in "$@"; do
  n=$((n + 1))
  registry="$account.dkr.ecr.$region.amazonaws.com"
  image="$registry/$repository:$tag"
  if aws ecr describe-images --region "$region" --repository-name "$repository" --image-ids "imageTag=$tag" >/dev/null 2>&1; then
    echo "$image already exists"
  else
    aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
    docker tag "$app:$tag" "$image"
    docker push "$image"
  fi
  echo "image_$n=$image"
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    echo "image_$n=$image" >>"$GITHUB_OUTPUT"
  fi
done
