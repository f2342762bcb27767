#!/usr/bin/env bash
# Build the API image and push it into the ECR repository of one environment's storage stack.
#   containers/api/push-image.sh ENV        (make image ENV=staging)
# Needs: AWS credentials for that environment, the AWS CLI, a Docker engine with buildx (arm64).
# Tags are immutable in the repository: each image is tagged with the commit it was built from.
set -euo pipefail
env_name="${1:?usage: push-image.sh ENV}"
cd "$(dirname "$0")/../.."

stack="photo-pipeline-${env_name}-storage"
repository_uri=$(aws cloudformation describe-stacks --stack-name "$stack" \
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

aws ecr get-login-password | docker login --username AWS --password-stdin "$registry"
docker buildx build --platform linux/arm64 -f containers/api/Dockerfile -t "$repository_uri:$tag" --push .

echo "pushed $repository_uri:$tag"
echo "roll it out: npx cdk deploy -c env=$env_name -c image_tag=$tag Service"
