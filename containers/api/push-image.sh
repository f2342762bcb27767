#!/usr/bin/env bash
# Build the API image and push it into the ECR repository of one environment's storage stack.
#   containers/api/push-image.sh ENV        (make image ENV=staging)
# Needs: AWS credentials for that environment, the AWS CLI, a Docker engine with buildx (arm64; on an
# x86 host buildx emulates it with QEMU: docker run --privileged --rm tonistiigi/binfmt --install arm64).
# Every aws call names the environment's region from the config, whatever the profile says, and the
# credentials must be for its account. Tags are immutable: each image is tagged with its commit.
set -euo pipefail
env_name="${1:?usage: push-image.sh ENV}"
cd "$(dirname "$0")/../.."
python="${PYTHON:-.venv/bin/python}"

read -r region account < <("$python" -m photo_ops.preflight --env "$env_name" --placement)
region_args=()
if [[ "$region" != "-" ]]; then
  region_args=(--region "$region")
fi
caller=$(aws sts get-caller-identity "${region_args[@]}" --query Account --output text)
if [[ "$account" != "-" && "$caller" != "$account" ]]; then
  echo "these credentials are for account $caller; $env_name lives in $account (AWS_PROFILE=…)" >&2
  exit 1
fi
echo "pushing as account $caller, region $region (- is the profile's)"

stack="photo-pipeline-${env_name}-storage"
repository_uri=$(aws cloudformation describe-stacks "${region_args[@]}" --stack-name "$stack" \
  --query "Stacks[0].Outputs[?OutputKey=='ApiRepositoryUri'].OutputValue" --output text)
if [[ -z "$repository_uri" || "$repository_uri" == "None" ]]; then
  echo "no ApiRepositoryUri output on $stack: deploy it first (npx cdk deploy -c env=$env_name Storage)" >&2
  exit 1
fi
if [[ -n "$(git status --porcelain)" ]]; then
  echo "the work tree has uncommitted changes: the tag would not name what is in the image" >&2
  exit 1
fi
tag=$(git rev-parse --short=12 HEAD)
registry="${repository_uri%%/*}"

aws ecr get-login-password "${region_args[@]}" | docker login --username AWS --password-stdin "$registry"
docker buildx build --platform linux/arm64 -f containers/api/Dockerfile -t "$repository_uri:$tag" --push .

echo "pushed $repository_uri:$tag"
echo "roll it out: npx cdk deploy -c env=$env_name -c image_tag=$tag Service"
